import { assessRun, combinePhaseRuns, startRun } from '../../src/domain/gates/assess';
import { gateReport, phaseRunOf, type GateRunView } from '../../src/domain/gates/report';
import type { GateSpec } from '../../src/domain/rollout/types';

const gate: GateSpec = {
  name: 'error-rate',
  provider: 'prometheus',
  address: 'http://prometheus.test',
  query: 'errors',
  intervalMs: 1_000,
  count: 2,
  successCondition: 'result < 0.05',
  failureLimit: 0,
  inconclusiveLimit: 1,
  consecutiveErrorLimit: 2,
  phases: ['prePromotion'],
  onInconclusive: 'fail',
};

const at = (s: number) => `2026-01-01T00:00:0${s}Z`;

describe('the status view of gate runs', () => {
  it('shows the verdict, the latest measurement and the history, infinities as strings', () => {
    const run = assessRun(gate, [
      { value: 0.01, sampleSize: 50, at: at(1) },
      { value: 'Infinity', at: at(2) },
    ]);
    const report = gateReport([{ name: 'error-rate', run }]);
    expect(report.verdict).toBe('fail');
    expect(report.results[0]).toEqual({
      name: 'error-rate',
      verdict: 'fail',
      message: expect.stringMatching(/^failed \(1\) > failureLimit \(0\); last: .*result \+Inf/),
      value: 'Infinity',
      at: at(2),
      history: [
        { at: at(1), value: 0.01, sampleSize: 50, verdict: 'success' },
        { at: at(2), value: 'Infinity', verdict: 'failure' },
      ],
    });
    // Survives JSON (the status is JSON) unchanged: an infinity does not turn into null.
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('keeps a provider error short, and shows a stopped sibling as stopped', () => {
    const run = assessRun(gate, [{ error: `connect ECONNREFUSED ${'x'.repeat(500)}`, at: at(1) }]);
    const views: GateRunView[] = [
      { name: 'error-rate', run },
      { name: 'latency', run: { ...startRun(gate), message: 'stopped' }, stopped: true },
    ];
    const report = gateReport(views);
    expect(report.results[0]!.verdict).toBe('running');
    expect(report.results[0]!.history![0]!.error).toHaveLength(120);
    expect(report.results[1]).toMatchObject({ name: 'latency', verdict: 'stopped', history: [] });
  });

  it('never lets a dry-run gate decide the report’s verdict, and shares the history budget among many gates', () => {
    const failed = assessRun({ ...gate, dryRun: true }, [{ value: 0.5, at: at(1) }]);
    const passed = assessRun(gate, [
      { value: 0.01, at: at(1) },
      { value: 0.01, at: at(2) },
    ]);
    const report = gateReport([
      { name: 'trial', run: failed },
      { name: 'error-rate', run: passed },
    ]);
    expect(report.verdict).toBe('pass');
    expect(report.results[0]).toMatchObject({ verdict: 'fail', dryRun: true });

    const long = assessRun(
      { ...gate, count: 12 },
      Array.from({ length: 12 }, () => ({ value: 0.01 })),
    );
    expect(long.history).toHaveLength(10);
    const many = gateReport(Array.from({ length: 8 }, (_, i) => ({ name: `g${i}`, run: long })));
    expect(many.results.every((r) => r.history!.length === 5)).toBe(true);
  });
});

describe('what the phase reads of a gate run', () => {
  it('is running until the run returns, then its phase, with the gate’s dry run and onInconclusive', () => {
    expect(phaseRunOf(gate)).toEqual({
      name: 'error-rate',
      phase: 'running',
      dryRun: false,
      onInconclusive: 'fail',
    });
    const run = assessRun({ ...gate, dryRun: true }, [{ value: 0.5 }]);
    const r = phaseRunOf({ ...gate, dryRun: true }, { name: 'error-rate', run, finishedAt: at(3) });
    expect(r).toMatchObject({ phase: 'fail', dryRun: true, finishedAt: at(3) });
    // A failed dry-run gate stops nothing, and the phase waits for its deciding sibling.
    expect(combinePhaseRuns([r, phaseRunOf({ ...gate, name: 'latency' })]).action).toBe('wait');
  });
});
