import { gateReport, judgeGatePhase, judgeGateRun, type GateRunResult } from '../../src/domain/gates/report';
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

function result(name: string, state: GateRunResult['state'], message = 'why'): GateRunResult {
  return { name, state, message, last: { value: 0.01, at: '2026-01-01T00:00:00Z', verdict: 'success' } };
}

describe('judging a gate run, one measurement at a time', () => {
  it('keeps a run open until it has its count, showing how the latest measurement went', () => {
    const first = judgeGateRun(gate, [], { value: 0.01, sampleSize: 50, at: 't1' });
    expect(first.state).toBe('running');
    expect(first.verdicts).toEqual(['success']);
    expect(first.result).toMatchObject({
      name: 'error-rate',
      state: 'pass',
      last: { value: 0.01, verdict: 'success' },
    });
    const second = judgeGateRun(gate, first.verdicts, { value: 0.02, at: 't2' });
    expect(second.state).toBe('pass');
    expect(second.result.message).toMatch(/; last: /);
  });

  it('fails the run on the first failure beyond failureLimit, with both the run and the measurement in its message', () => {
    const judged = judgeGateRun(gate, [], { value: 0.5, at: 't1' });
    expect(judged.state).toBe('fail');
    expect(judged.result.state).toBe('fail');
    expect(judged.result.message).toMatch(/^failed \(1\) > failureLimit \(0\); last: /);
  });

  it('counts a provider error as an error, not a failure', () => {
    const judged = judgeGateRun(gate, [], { error: 'connect ECONNREFUSED', at: 't1' });
    expect(judged.state).toBe('running');
    expect(judged.verdicts).toEqual(['error']);
    expect(judged.result).toMatchObject({ state: 'inconclusive', last: { error: 'connect ECONNREFUSED' } });
  });
});

describe('judging a phase from its gate runs', () => {
  const gates = [
    { name: 'a', onInconclusive: 'fail' as const },
    { name: 'b', onInconclusive: 'pass' as const },
    { name: 'c', onInconclusive: 'pause' as const },
  ];

  it('proceeds when every run passed', () => {
    expect(judgeGatePhase('prePromotion', gates, [result('a', 'pass')])).toEqual({
      approvalNeeded: [],
      notes: [],
    });
  });

  it('stops on a failed run, naming every problem', () => {
    const judged = judgeGatePhase('eachStep', gates, [
      result('a', 'fail', 'too many errors'),
      result('c', 'inconclusive', 'no data'),
    ]);
    // A pause is only possible before promotion: during the steps an inconclusive run that would pause stops it.
    expect(judged.stop).toBe('eachStep gates failed: a: too many errors; c: inconclusive: no data');
  });

  it('follows each gate on an inconclusive run: stop, pass with a note, or ask a person', () => {
    expect(judgeGatePhase('prePromotion', gates, [result('a', 'inconclusive', 'no data')]).stop).toBe(
      'prePromotion gates inconclusive: a: inconclusive: no data',
    );
    expect(judgeGatePhase('prePromotion', gates, [result('b', 'inconclusive', 'no data')])).toEqual({
      approvalNeeded: [],
      notes: ['gate b inconclusive, passed by policy: no data'],
    });
    expect(judgeGatePhase('prePromotion', gates, [result('c', 'inconclusive', 'no data')])).toEqual({
      approvalNeeded: ['gate c inconclusive: no data'],
      notes: [],
    });
  });

  it('reports the worst verdict of the runs for the status', () => {
    expect(gateReport([result('a', 'pass'), result('b', 'inconclusive')]).verdict).toBe('inconclusive');
    expect(gateReport([result('a', 'fail'), result('b', 'inconclusive')]).verdict).toBe('fail');
    expect(gateReport([result('a', 'pass')]).results[0]).toEqual({
      name: 'a',
      verdict: 'pass',
      message: 'why',
      value: 0.01,
      at: '2026-01-01T00:00:00Z',
    });
  });
});
