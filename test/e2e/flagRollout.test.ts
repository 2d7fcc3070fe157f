// The flag strategy end to end: real TCP workers (receiver + processor on the agent) per revision, real Redis,
// the unchanged app on the local runtime. Real time with short policy timings: the workloads run in real time.
import type { Redis } from 'ioredis';
import { checkpointKey, mockPrefix, prodLogKey } from '../../src/protocol/flagKeys';
import { tcpWorkerFlagStrategy, tcpWorkerMockOutput } from '../../local/stack';
import { RedisControlPlane } from '../../src/adapters/flags/redisControlPlane';
import { appKey } from '../../src/domain/flag/control';
import { newTestRedis } from '../support/redis';
import {
  getRollout,
  refOf,
  registry,
  startE2E,
  startRollout,
  untilDone,
  untilPhase,
  type E2E,
} from './support';
import { until } from '../support/until';

let e: E2E;
let redis: Redis;
let control: RedisControlPlane;

function flagPolicy(
  name: string,
  keyPrefix: string,
  mock: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    app: refOf(name),
    trigger: { registry, repository: `e2e/${name}`, tags: ['*'] },
    concurrency: 'queue',
    strategy: tcpWorkerFlagStrategy(keyPrefix, 'PT15S'),
    validation: {
      readiness: { timeout: 'PT30S', pollInterval: 'PT0.2S' },
      mock: {
        deadline: 'PT15S',
        minRecords: 40,
        maxLag: 50,
        ...tcpWorkerMockOutput,
        ...mock,
      },
    },
    approval: { required: false },
    bake: 'PT0S',
    // At least the agents' 5 s lease plus two checks, as the policy load check requires.
    watch: { duration: 'PT7S', interval: 'PT1S' },
    cleanup: { deactivateAfter: 'PT0S', keepRevisions: 1 },
  };
}

beforeAll(async () => {
  e = await startE2E(
    (fp) => [
      flagPolicy('flag-ok', fp),
      flagPolicy('flag-bad', fp),
      flagPolicy('flag-drops', fp),
      flagPolicy('flag-nolease', fp, { deadline: 'PT8S' }),
      { ...flagPolicy('flag-crash', fp), watch: { duration: 'PT60S', interval: 'PT1S' } },
      { ...flagPolicy('flag-stall', fp), watch: { duration: 'PT30S', interval: 'PT1S' } },
    ],
    { clock: 'real' },
  );
  redis = newTestRedis();
  control = new RedisControlPlane(redis, e.flagPrefix);
}, 30_000);

afterAll(async () => {
  redis?.disconnect();
  await e?.stop();
});

async function seedWorker(name: string): Promise<string> {
  const view = await e.stack.emulator.seedApp({
    ...refOf(name),
    image: `${registry}/e2e/${name}:v1`,
    ingress: false,
    workload: { kind: 'tcp' },
  });
  const blue = view.revisions?.[0]?.name ?? (await control.read(appKey(refOf(name))))?.active;
  if (!blue) throw new Error(`seeded ${name} has no revision`);
  return blue;
}

const sinkCheckpoint = async (name: string): Promise<number> =>
  Number((await redis.get(checkpointKey(prodLogKey(e.flagPrefix, appKey(refOf(name)), 'sink')))) ?? 0);

/** The production sink in order: frame id and writer. */
async function sinkRows(name: string): Promise<{ id: number; revision: string }[]> {
  const rows = await redis.xrange(prodLogKey(e.flagPrefix, appKey(refOf(name)), 'sink'), '-', '+');
  return rows.map(([, flat]) => ({
    id: Number(flat[flat.indexOf('frameId') + 1]),
    revision: flat[flat.indexOf('revision') + 1] ?? '',
  }));
}

/** Every frame in the production sink once, none missing from the first kept up to its checkpoint. */
async function auditSink(
  name: string,
): Promise<{ count: number; duplicates: number; gaps: number; writers: Set<string> }> {
  const last = await sinkCheckpoint(name);
  const rows = await redis.xrange(prodLogKey(e.flagPrefix, appKey(refOf(name)), 'sink'), '-', '+');
  const seen = new Set<number>();
  const writers = new Set<string>();
  let duplicates = 0;
  for (const [, flat] of rows) {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
    const id = Number(f.frameId);
    if (id > last) continue;
    if (seen.has(id)) duplicates++;
    seen.add(id);
    if (f.revision) writers.add(f.revision);
  }
  // Frames the source sent before blue's receiver first connected were never anyone's: count from the first one kept.
  const first = Math.min(...seen);
  let gaps = 0;
  for (let id = first; id <= last; id++) if (!seen.has(id)) gaps++;
  return { count: seen.size, duplicates, gaps, writers };
}

async function tempKeysOf(name: string, revision: string): Promise<string[]> {
  return redis.keys(`${mockPrefix(e.flagPrefix, appKey(refOf(name)), revision)}*`);
}

describe('blue-green by flag (TCP worker, real Redis)', () => {
  it('validates green in mock mode, flips once, and leaves green the only producer with nothing lost', async () => {
    const blue = await seedWorker('flag-ok');
    await until('blue to process', async () => (await sinkCheckpoint('flag-ok')) >= 20);
    const before = await control.read(appKey(refOf('flag-ok')));

    const id = await startRollout(e, 'flag-ok', 'v2');
    const done = await untilDone(e, id, 60_000);
    expect(done).toMatchObject({ outcome: 'Succeeded', strategy: 'flag' });
    const green = done.green!;
    expect(done.checks.mock).toMatchObject({ verdict: 'pass' });
    expect(done.checks.flip).toMatchObject({ ok: true });

    const record = await control.read(appKey(refOf('flag-ok')));
    expect(record).toMatchObject({ active: green, epoch: before!.epoch + 1 });
    expect(record!.revisions[blue]).toMatchObject({ mode: 'standby' });
    expect(await control.leaseHolder(appKey(refOf('flag-ok')))).toEqual({
      revision: green,
      epoch: record!.epoch,
    });

    // Green keeps the stream going after the flip, and nothing was lost or doubled across it.
    const atEnd = await sinkCheckpoint('flag-ok');
    await until('green to process', async () => (await sinkCheckpoint('flag-ok')) >= atEnd + 20);
    const audit = await auditSink('flag-ok');
    expect({ duplicates: audit.duplicates, gaps: audit.gaps }).toEqual({ duplicates: 0, gaps: 0 });
    expect([...audit.writers].sort()).toEqual([blue, green].sort());
    expect(await tempKeysOf('flag-ok', green)).toEqual([]);
  }, 90_000);

  it('rolls back a green that writes malformed records; blue never stops processing', async () => {
    const blue = await seedWorker('flag-bad');
    await until('blue to process', async () => (await sinkCheckpoint('flag-bad')) >= 20);
    const before = await control.read(appKey(refOf('flag-bad')));

    const id = await startRollout(e, 'flag-bad', 'v2-malformed');
    const done = await untilDone(e, id, 60_000);
    expect(done.outcome).toBe('RolledBack');
    expect(done.reason).toMatch(/mock validation failed .*lack required fields .*receivedAt/);

    const record = await control.read(appKey(refOf('flag-bad')));
    expect(record?.active).toBe(blue);
    // The restore moves the epoch forward once, even though no flip happened: fencing never goes back.
    expect(record!.epoch).toBe(before!.epoch + 1);
    expect(record!.revisions[done.green!]).toBeUndefined();
    const at = await sinkCheckpoint('flag-bad');
    await until('blue to keep processing', async () => (await sinkCheckpoint('flag-bad')) >= at + 20);
    const audit = await auditSink('flag-bad');
    expect({ duplicates: audit.duplicates, gaps: audit.gaps, writers: [...audit.writers] }).toEqual({
      duplicates: 0,
      gaps: 0,
      writers: [blue],
    });
    expect(await tempKeysOf('flag-bad', done.green!)).toEqual([]);
  }, 90_000);

  it('rolls back a green that loses frames, naming the missing ids; blue never stops processing', async () => {
    const blue = await seedWorker('flag-drops');
    await until('blue to process', async () => (await sinkCheckpoint('flag-drops')) >= 20);

    const id = await startRollout(e, 'flag-drops', 'v2-drops');
    const done = await untilDone(e, id, 60_000);
    expect(done.outcome).toBe('RolledBack');
    // The `drops` image loses every 10th frame: the ids named are multiples of 10.
    expect(done.reason).toMatch(
      /mock validation failed .*output is incomplete: \d+ of ids \d+-\d+ missing \(e\.g\. \d*0(, \d*0)*; longest run 1/,
    );
    expect((await control.read(appKey(refOf('flag-drops'))))?.active).toBe(blue);
    const at = await sinkCheckpoint('flag-drops');
    await until('blue to keep processing', async () => (await sinkCheckpoint('flag-drops')) >= at + 20);
    const audit = await auditSink('flag-drops');
    expect({ duplicates: audit.duplicates, gaps: audit.gaps, writers: [...audit.writers] }).toEqual({
      duplicates: 0,
      gaps: 0,
      writers: [blue],
    });
    expect(await tempKeysOf('flag-drops', done.green!)).toEqual([]);
  }, 90_000);

  it('rolls back a green that never takes its lease', async () => {
    const blue = await seedWorker('flag-nolease');
    const id = await startRollout(e, 'flag-nolease', 'v2-nolease');
    const done = await untilDone(e, id, 60_000);
    expect(done.outcome).toBe('RolledBack');
    expect(done.reason).toMatch(/did not pass within 8s .*mock-path lease/);
    expect((await control.read(appKey(refOf('flag-nolease'))))?.active).toBe(blue);
    expect(await tempKeysOf('flag-nolease', done.green!)).toEqual([]);
  }, 60_000);

  it('flips back when green fails after the flip, and the stream stays exactly-once through both flips', async () => {
    const blue = await seedWorker('flag-crash');
    await until('blue to process', async () => (await sinkCheckpoint('flag-crash')) >= 20);
    const id = await startRollout(e, 'flag-crash', 'v2');
    const watching = await untilPhase(e, id, 'Watching', 60_000);
    const green = watching.green!;
    const afterFlip = await sinkCheckpoint('flag-crash');
    await until('green to process', async () => (await sinkCheckpoint('flag-crash')) >= afterFlip + 20);

    // Green's container dies: its lease lapses, the watch sees it, and the rollout flips back.
    await e.stack.emulator.tcpWorker(refOf('flag-crash'), green)?.stop();
    const done = await untilDone(e, id, 60_000);
    expect(done.outcome).toBe('RolledBack');
    // Seen by its missing heartbeat, or once its lease lapses, whichever check comes first.
    expect(done.reason).toMatch(/post-promotion watch failed: .*(production lease|stopped reporting)/);
    expect(done.checks.flip).toMatchObject({ name: 'flip back', ok: true });

    const record = await control.read(appKey(refOf('flag-crash')));
    expect(record).toMatchObject({ active: blue });
    expect(await control.leaseHolder(appKey(refOf('flag-crash')))).toMatchObject({ revision: blue });
    const at = await sinkCheckpoint('flag-crash');
    await until('blue to process again', async () => (await sinkCheckpoint('flag-crash')) >= at + 20);
    const audit = await auditSink('flag-crash');
    expect({ duplicates: audit.duplicates, gaps: audit.gaps }).toEqual({ duplicates: 0, gaps: 0 });
    expect([...audit.writers].sort()).toEqual([blue, green].sort());
    expect(await tempKeysOf('flag-crash', green)).toEqual([]);
    expect((await getRollout(e.gl, id)).flags).toMatchObject({ active: blue });
  }, 90_000);

  it('flips back a green that stalls in the watch (alive, leased, not writing); blue resumes where it stopped: frames delayed, none lost or doubled', async () => {
    const name = 'flag-stall';
    const blue = await seedWorker(name);
    await until('blue to process', async () => (await sinkCheckpoint(name)) >= 20);
    const id = await startRollout(e, name, 'v2-stall');
    const watching = await untilPhase(e, id, 'Watching', 60_000);
    const green = watching.green!;
    const worker = e.stack.emulator.tcpWorker(refOf(name), green)!;
    // Two seconds after it first processes production, green lets every frame go by while its agent
    // keeps the lease and heartbeat: the lease alone says all is well.
    await until('green to stall', () => worker.framesIgnored > 0, 15_000);
    expect(await control.leaseHolder(appKey(refOf(name)))).toMatchObject({ revision: green });

    const done = await untilDone(e, id, 60_000);
    expect(done.outcome).toBe('RolledBack');
    expect(done.reason).toMatch(
      new RegExp(`^post-promotion watch failed: ${green} is stalled: alive and holding the lease`),
    );
    expect(done.checks.flip).toMatchObject({ name: 'flip back', ok: true });
    const record = await control.read(appKey(refOf(name)));
    expect(record).toMatchObject({ active: blue });
    expect(await control.leaseHolder(appKey(refOf(name)))).toEqual({ revision: blue, epoch: record!.epoch });

    const at = await sinkCheckpoint(name);
    await until('blue to process again', async () => (await sinkCheckpoint(name)) >= at + 20);
    // Frame by frame: the sink holds every frame once; blue's first frame after the flip back is the one
    // after green's last, so what the stall held back was written late by blue, not skipped.
    const audit = await auditSink(name);
    expect({ duplicates: audit.duplicates, gaps: audit.gaps }).toEqual({ duplicates: 0, gaps: 0 });
    expect([...audit.writers].sort()).toEqual([blue, green].sort());
    const rows = await sinkRows(name);
    const lastGreen = rows.findLastIndex((r) => r.revision === green);
    expect(lastGreen).toBeGreaterThan(0);
    const resumed = rows[lastGreen + 1]!;
    expect(resumed).toEqual({ id: rows[lastGreen]!.id + 1, revision: blue });
    expect(rows.slice(lastGreen + 1).every((r) => r.revision === blue)).toBe(true);
    // Blue wrote at least the frames green let go by, after the flip back.
    expect(rows.length - lastGreen - 1).toBeGreaterThanOrEqual(worker.framesIgnored);
  }, 120_000);
});
