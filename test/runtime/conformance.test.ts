import * as df from 'durable-functions';
import { VirtualClock } from '../../local/clock';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { deleteKeysWithPrefix, newTestRedis, testRedisUrl, uniquePrefix } from '../support/redis';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

let runtime: LocalRuntime;
let client: df.DurableClient;
const clock = new VirtualClock('2026-03-01T00:00:00Z');
const prefix = uniquePrefix('rt-conf');

const keysFile = join(tmpdir(), `${prefix.replace(/:/g, '-')}keys.json`);

beforeAll(async () => {
  runtime = await startLocalRuntime({
    register: () => require('./conformanceApp'),
    redisUrl: testRedisUrl(),
    keyPrefix: prefix,
    clock,
    keysFile,
  });
  client = runtime.durableClient();
});

afterAll(async () => {
  await runtime.stop();
  const redis = newTestRedis();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
  rmSync(keysFile, { force: true });
});

beforeEach(() => runtime.setTimeSkipping(true));

async function run(
  name: string,
  input?: unknown,
  instanceId?: string,
): Promise<df.DurableOrchestrationStatus> {
  const id = await client.startNew(name, { input, ...(instanceId ? { instanceId } : {}) });
  await runtime.whenIdle();
  return client.getStatus(id, { showHistory: true, showHistoryOutput: true });
}

describe('local runtime conformance (real DurableClient)', () => {
  it('chains activities', async () => {
    const status = await run('chain', 1);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual([2, 12, 112]);
  });

  it('fans out and in', async () => {
    const status = await run('fanOut', 20);
    expect(status.output).toBe(380);
  });

  it('approval wins the race against the timeout', async () => {
    runtime.setTimeSkipping(false);
    const id = await client.startNew('approvalRace', { input: 24 });
    await runtime.whenIdle();
    const mid = await client.getStatus(id);
    expect(mid.runtimeStatus).toBe('Running');
    expect(mid.customStatus).toEqual({ waitingFor: 'approval' });
    await client.raiseEvent(id, 'approval', 'alice');
    await runtime.whenIdle();
    const done = await client.getStatus(id);
    expect(done.output).toEqual({ outcome: 'approved', by: 'alice' });
  });

  it('the timeout wins when nobody approves (24 h of virtual time)', async () => {
    const before = clock.now();
    const status = await run('approvalRace', 24);
    expect(status.output).toMatchObject({ outcome: 'timedOut' });
    expect(clock.now() - before).toBeGreaterThanOrEqual(24 * 3_600_000);
  });

  it('buffers an event raised before it is awaited', async () => {
    runtime.setTimeSkipping(false);
    const id = await client.startNew('eventAfterTimer');
    await runtime.whenIdle();
    await client.raiseEvent(id, 'go', { early: true });
    runtime.setTimeSkipping(true);
    await runtime.whenIdle();
    const status = await client.getStatus(id);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ early: true });
  });

  it('reports a running task sent again in a new Task.any (the extension would schedule it twice), and anyOf sends it once', async () => {
    for (const name of ['rewaitTwice', 'rewaitOnce']) {
      runtime.setTimeSkipping(false);
      const id = await client.startNew(name);
      await runtime.whenIdle();
      await client.raiseEvent(id, 'ping', 1);
      await runtime.whenIdle();
      await client.raiseEvent(id, 'ping', 2);
      runtime.setTimeSkipping(true);
      await runtime.whenIdle();
      const status = await client.getStatus(id, { showHistory: true });
      if (name === 'rewaitTwice') {
        expect(status.runtimeStatus).toBe('Failed');
        expect(String(status.output)).toMatch(/sent CreateTimer again/);
      } else {
        expect(status.runtimeStatus).toBe('Completed');
        expect(status.output).toEqual({ events: [1, 2] });
        const history = (status.history ?? []) as { EventType: string }[];
        expect(history.filter((e) => e.EventType === 'TimerCreated')).toHaveLength(1);
      }
    }
  });

  it('retries an activity until it succeeds', async () => {
    const status = await run('retryThenSucceed', 'k1');
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe('ok after 3 attempts');
  });

  it('fails the orchestration with the activity error when retries run out', async () => {
    const status = await run('retryExhausted', 'k2');
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toContain('[Broken] k2 cannot work');
  });

  it('runs a sub-orchestration', async () => {
    const status = await run('parent', undefined, 'parent-1');
    expect(status.output).toEqual({ child: [6, 16, 116] });
    const child = await client.getStatus('parent-1:child');
    expect(child.runtimeStatus).toBe('Completed');
  });

  it('continues as new with a fresh history', async () => {
    const status = await run('counter', 0);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe(5);
    // Only the last execution's events remain.
    expect(
      (status.history ?? []).filter((e) => (e as { EventType: string }).EventType === 'TimerFired'),
    ).toHaveLength(0);
  });

  it('terminates a running instance and shows custom status mid-run', async () => {
    const id = await client.startNew('waitForever');
    await runtime.whenIdle();
    expect((await client.getStatus(id)).customStatus).toBe('waiting for a signal that never comes');
    await client.terminate(id, 'operator said stop');
    const status = await client.getStatus(id);
    expect(status.runtimeStatus).toBe('Terminated');
    expect(status.output).toBe('operator said stop');
  });

  it('suspends and resumes', async () => {
    runtime.setTimeSkipping(false);
    const id = await client.startNew('approvalRace', { input: 1 });
    await runtime.whenIdle();
    await client.suspend(id, 'hold');
    await client.raiseEvent(id, 'approval', 'bob');
    await runtime.whenIdle();
    expect((await client.getStatus(id)).runtimeStatus).toBe('Suspended');
    await client.resume(id, 'go on');
    await runtime.whenIdle();
    expect((await client.getStatus(id)).output).toEqual({ outcome: 'approved', by: 'bob' });
  });

  it('fails an orchestrator that behaves differently on replay', async () => {
    const status = await run('nonDeterministic');
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toMatch(
      /Non-deterministic workflow detected: action #1 was CallActivity 'add'.*CallActivity 'echo'/,
    );
  });

  it('fails an orchestration that uses an unsupported action, naming it', async () => {
    const status = await run('unsupported');
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toMatch(/does not support the 'CallHttp' action/);
  });

  it('lists instances and filters them by status', async () => {
    // Its own instances, so the counts hold whatever ran before.
    await run('chain', 1, 'list-ok-1');
    await run('chain', 2, 'list-ok-2');
    await run('retryExhausted', 'list', 'list-failed-1');
    const all = await client.getStatusAll();
    expect(all.map((s) => s.instanceId)).toEqual(
      expect.arrayContaining(['list-ok-1', 'list-ok-2', 'list-failed-1']),
    );
    const failed = await client.getStatusBy({ runtimeStatus: [df.OrchestrationRuntimeStatus.Failed] });
    expect(failed.every((s) => String(s.runtimeStatus) === 'Failed')).toBe(true);
    expect(failed.map((s) => s.instanceId).filter((id) => id.startsWith('list-'))).toEqual(['list-failed-1']);
  });

  it('purges a finished instance', async () => {
    const status = await run('chain', 2, 'purge-me');
    expect(status.runtimeStatus).toBe('Completed');
    const result = await client.purgeInstanceHistory('purge-me');
    expect(result.instancesDeleted).toBe(1);
    await expect(client.getStatus('purge-me')).rejects.toThrow(/404/);
  });
});
