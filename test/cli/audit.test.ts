import type { AuditEntry } from '../../src/domain/audit/entry';
import { registry, seed, startE2E, trafficPolicy, untilPhase, type E2E } from '../e2e/support';
import { cli, expectExit } from './run';

const approval = { required: true, timeout: 'PT24H', onTimeout: 'rollback' };
const withinAnHour = (next: number, now: number): boolean => next - now < 3_600_000;
const image = (app: string, tag: string): string => `${registry}/e2e/${app}:${tag}`;

let e: E2E;
let env: Record<string, string>;
beforeAll(async () => {
  e = await startE2E([trafficPolicy('cliaud', { approval }), trafficPolicy('cliaud2', { approval })]);
  await seed(e, 'cliaud');
  await seed(e, 'cliaud2');
  env = { GREENLIGHT_URL: e.gl.baseUrl, GREENLIGHT_KEY: e.gl.functionKey };
}, 60_000);
afterAll(async () => {
  await e?.stop();
});
beforeEach(() => e.stack.runtime.setTimeSkipping(withinAnHour));

/** Entries a rollout writes itself while it runs, besides the admissions and decisions checked here. */
const orchestrationKinds = new Set([
  'traffic.written',
  'flags.written',
  'compensation.ran',
  'rollout.finished',
]);
describe('greenlight audit against the local runtime', () => {
  it('shows who started and who promoted a rollout, filtered by app, rollout and time', async () => {
    const started = await cli(['rollout', '--app', 'cliaud', '--image', image('cliaud', 'v2'), '-q'], {
      env,
    });
    expectExit(started, 0);
    const id = started.stdout.trim();
    expectExit(
      await cli(['rollout', '--app', 'cliaud2', '--image', image('cliaud2', 'v2'), '-q'], { env }),
      0,
    );
    await untilPhase(e, id, 'WaitingApproval');
    expectExit(await cli(['promote', id, '--reason', 'release train 42'], { env }), 0);

    const text = await cli(['audit', '--app', 'cliaud'], { env });
    expectExit(text, 0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+KIND\s+APP\s+ROLLOUT\s+BY\s+WHAT$/);
    // Newest first: the promotion, then the start (the rollout's own writes aside); not the other app.
    const decisions = lines.slice(1).filter((l) => !orchestrationKinds.has(l.split(/\s{2,}/)[1] ?? ''));
    expect(decisions.map((l) => l.split(/\s{2,}/)[1])).toEqual(['rollout.promoted', 'admission.started']);
    expect(decisions[0]).toMatch(
      new RegExp(`cliaud\\s+${id}\\s+function key #[0-9a-f]{8}\\s+.*release train 42`),
    );
    expect(text.stdout).not.toContain('cliaud2');
    expect(text.stdout).not.toContain(e.gl.functionKey);

    const json = await cli(['audit', '--rollout', id, '-o', 'json'], { env });
    expectExit(json, 0);
    const body = JSON.parse(json.stdout) as { entries: AuditEntry[]; count: number };
    expect(body.count).toBe(body.entries.length);
    expect(
      body.entries.filter((x) => !orchestrationKinds.has(x.kind)).map((x) => [x.kind, x.rolloutId]),
    ).toEqual([
      ['rollout.promoted', id],
      ['admission.started', id],
    ]);

    // --limit shows the newest two.
    const all = JSON.parse((await cli(['audit', '-o', 'json', '--limit', '2'], { env })).stdout) as {
      count: number;
    };
    expect(all.count).toBe(2);
    const recent = await cli(['audit', '--since', '1h', '-o', 'json'], { env });
    const recentEntries = (JSON.parse(recent.stdout) as { entries: AuditEntry[] }).entries;
    expect(recentEntries.filter((x) => !orchestrationKinds.has(x.kind))).toHaveLength(3);
    const future = await cli(['audit', '--since', new Date(Date.now() + 3_600_000).toISOString()], { env });
    expectExit(future, 0);
    expect(future.stdout.trim()).toBe('no audit entries');
  }, 60_000);

  it('refuses bad options, and shows the API problem for an unknown app, with exit 1', async () => {
    const cases: [string[], RegExp][] = [
      [['audit', '--since', 'last tuesday'], /--since must be a span back from now .*; got 'last tuesday'/],
      [['audit', '--limit', '0'], /--limit must be a whole number from 1 to 10000; got '0'/],
      [['audit', '--app', 'nosuch'], /Invalid query \(HTTP 400\): app: no policy names 'nosuch'/],
      [['audit', '--rollout', 'bad id!'], /Invalid query \(HTTP 400\): rollout: must be a rollout id/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args, { env });
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stderr).toMatch(message);
    }
  });
});
