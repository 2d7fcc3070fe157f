// Gate runs as the orchestrators drive them, on the virtual clock: fail fast across siblings, quick
// retries of a failing provider, dry-run gates, the watch's accumulation, and the history in the status.
import { errorGiveUpMs } from '../../src/domain/gates/assess';
import type { RolloutStatus } from '../../src/domain/rollout/types';
import { Scenario, gate, trafficPlan } from './harness';

const ok = { value: 0.01, sampleSize: 100 };
const bad = { value: 0.5, sampleSize: 100 };
const down = { error: 'connect ECONNREFUSED 10.0.0.9:9090' };

/** When the rollout entered a phase, on the virtual clock. */
function enteredAt(status: RolloutStatus, phase: RolloutStatus['phase']): number {
  const entry = status.timeline.find((t) => t.phase === phase);
  if (!entry) throw new Error(`never entered ${phase}: ${JSON.stringify(status.timeline)}`);
  return Date.parse(entry.at);
}

/** When a gate's measurement of a verdict was taken, from its history in the status. */
function measuredAt(status: RolloutStatus, name: string, verdict: string, which: 'first' | 'last'): number {
  const h = status.gates.find((g) => g.name === name)?.history ?? [];
  const hits = h.filter((m) => m.verdict === verdict);
  const hit = which === 'first' ? hits[0] : hits.at(-1);
  if (!hit?.at) throw new Error(`no ${verdict} of ${name} in ${JSON.stringify(h)}`);
  return Date.parse(hit.at);
}

describe('gate runs on the virtual clock', () => {
  let s: Scenario;
  afterEach(() => s.stop());

  it('a failing gate stops its slow sibling: rollback starts when the failure is measured, not when the sibling would end', async () => {
    s = new Scenario({ gates: { 'error-rate': [ok, bad], slow: [ok] } });
    // The sibling would take 10 measurements 10 minutes apart: 90 minutes after its first.
    const slow = gate('slow', { count: 10, intervalMs: 600_000 });
    const id = await s.start(
      'v2',
      trafficPlan({ gates: [gate('error-rate', { intervalMs: 60_000 }), slow] }),
    );
    const { status, result } = await s.finish(id);

    expect(result.outcome).toBe('RolledBack');
    expect(result.reason).toMatch(
      /^prePromotion gates failed: error-rate: failed \(1\) > failureLimit \(0\).*; stopped slow$/,
    );
    const failedAt = measuredAt(status, 'error-rate', 'failure', 'first');
    // One decision: the parent judges the phase as the failed run returns, with no timer in between.
    expect(enteredAt(status, 'RollingBack') - failedAt).toBe(0);
    expect(status.gates).toEqual([
      expect.objectContaining({ name: 'error-rate', verdict: 'fail', value: 0.5 }),
      expect.objectContaining({
        name: 'slow',
        verdict: 'stopped',
        message: expect.stringMatching(/error-rate/),
      }),
    ]);
    // The stopped sibling measured once (before the failure) and was never waited for again.
    const slowMeasurements = s.gates.measured.filter((m) => m.query === 'slow').length;
    expect(slowMeasurements).toBe(1);
    process.stdout.write(
      `fail fast: rollback ${(enteredAt(status, 'RollingBack') - failedAt) / 1000}s after the failing measurement; the sibling needed ${(9 * slow.intervalMs) / 60_000} more minutes\n`,
    );
  });

  it('a provider that stays down is given up within consecutiveErrorLimit × errorInterval, not a whole interval per error', async () => {
    s = new Scenario({ gates: { prom: [down] } });
    const spec = gate('prom', { intervalMs: 300_000, errorIntervalMs: 10_000, consecutiveErrorLimit: 4 });
    const id = await s.start('v2', trafficPlan({ gates: [spec] }));
    const { status, result } = await s.finish(id);

    expect(result.outcome).toBe('RolledBack');
    expect(result.reason).toMatch(
      /prom: the provider kept failing: consecutive errors \(5\) > consecutiveErrorLimit \(4\)/,
    );
    const firstError = measuredAt(status, 'prom', 'error', 'first');
    const lastError = measuredAt(status, 'prom', 'error', 'last');
    expect(lastError - firstError).toBe(errorGiveUpMs(spec));
    expect(enteredAt(status, 'RollingBack') - firstError).toBeLessThanOrEqual(errorGiveUpMs(spec));
    expect(status.gates[0]!.history!.map((m) => m.verdict)).toEqual(Array(5).fill('error'));
  });

  it('a gate waits its initialDelay before the first measurement, and the watch retries a failing provider between checks', async () => {
    s = new Scenario({ gates: { warm: [ok], prom: [ok, ok, down] } });
    const warm = gate('warm', { count: 1, initialDelayMs: 120_000 });
    const prom = gate('prom', {
      phases: ['watch'],
      count: 3,
      errorIntervalMs: 10_000,
      consecutiveErrorLimit: 2,
    });
    const id = await s.start(
      'v2',
      trafficPlan({ gates: [warm, prom], watch: { durationMs: 3_600_000, intervalMs: 300_000 } }),
    );
    // The watch's report replaces the pre-promotion one: look at the gate before it.
    const watching = await s.phase(id, 'Watching');
    const started = Date.parse(watching.timeline[0]!.at);
    expect(measuredAt(watching, 'warm', 'success', 'first') - started).toBeGreaterThanOrEqual(120_000);
    const { status, result } = await s.finish(id);
    expect(result.outcome).toBe('RolledBack');
    expect(result.reason).toMatch(/watch gate prom failed: the provider kept failing/);
    const firstError = measuredAt(status, 'prom', 'error', 'first');
    expect(enteredAt(status, 'RollingBack') - firstError).toBeLessThanOrEqual(errorGiveUpMs(prom));
    expect(status.gates.find((g) => g.name === 'prom')!.history!.map((m) => m.verdict)).toEqual([
      'success',
      'success',
      'error',
      'error',
      'error',
    ]);
  });

  it('an infinite measurement crosses the activity boundary as a value: +Inf fails the gate, and the status shows it', async () => {
    // histogram_quantile answers +Inf when requests fall beyond the top bucket: very slow, not missing.
    s = new Scenario({ gates: { p99: [{ value: Infinity, sampleSize: 100 }, ok] } });
    const id = await s.start(
      'v2',
      trafficPlan({
        gates: [gate('p99', { successCondition: 'result < 0.5', count: 2, inconclusiveLimit: 1 })],
      }),
    );
    const { status, result } = await s.finish(id);
    expect(result.outcome).toBe('RolledBack');
    expect(result.reason).toMatch(/p99: failed \(1\) > failureLimit \(0\).*result \+Inf/);
    expect(status.gates[0]).toMatchObject({ verdict: 'fail', value: 'Infinity' });
    expect(status.gates[0]!.history).toEqual([
      expect.objectContaining({ value: 'Infinity', verdict: 'failure' }),
    ]);
  });

  it('a dry-run gate is measured and shown, and never decides', async () => {
    s = new Scenario({ gates: { trial: [bad], 'error-rate': [ok] } });
    const id = await s.start(
      'v2',
      trafficPlan({ gates: [gate('trial', { dryRun: true, count: 1 }), gate('error-rate', { count: 2 })] }),
    );
    const { status, result } = await s.finish(id);
    expect(result.outcome).toBe('Succeeded');
    expect(status.gates.find((g) => g.name === 'trial')).toMatchObject({ verdict: 'fail', dryRun: true });
    expect(status.timeline.map((t) => t.note ?? '').join(' ')).toMatch(
      /dry-run gate trial fail \(not deciding\)/,
    );
  });

  describe('the watch’s accumulation', () => {
    // Failures one run of `count` apart: each run of 2 tolerates one (failureLimit 1), the whole watch does not.
    const script = { errors: [bad, ok, ok, bad, ok, ok] };
    const plan = (accumulate?: boolean) =>
      trafficPlan({
        gates: [
          gate('errors', {
            phases: ['watch'],
            count: 3,
            failureLimit: 1,
            ...(accumulate !== undefined ? { accumulate } : {}),
          }),
        ],
        watch: { durationMs: 360_000, intervalMs: 60_000 },
      });

    it('adds failures up over the whole watch by default, as Argo’s background analysis', async () => {
      s = new Scenario({ gates: script });
      const { status, result } = await s.finish(await s.start('v2', plan()));
      expect(result.outcome).toBe('RolledBack');
      expect(result.reason).toMatch(/watch gate errors failed: failed \(2\) > failureLimit \(1\)/);
      expect(status.gates[0]!.history!.map((m) => m.verdict)).toEqual([
        'failure',
        'success',
        'success',
        'failure',
      ]);
    });

    it('judges each run of count afresh with accumulate: false', async () => {
      s = new Scenario({ gates: script });
      const { status, result } = await s.finish(await s.start('v2', plan(false)));
      expect(result.outcome).toBe('Succeeded');
      expect(status.gates[0]).toMatchObject({ name: 'errors', verdict: 'pass' });
      expect(status.gates[0]!.message).toMatch(/2 run\(s\) passed/);
    });
  });
});
