import type { RevisionReport } from '../../src/domain/flag/control';
import { assessProgress, type ProgressObservation } from '../../src/domain/flag/progress';

const spec = { active: 'green', epoch: 3, maxLagFrames: 100 };

function report(revision: string): RevisionReport {
  return {
    revision,
    mode: revision === 'green' ? 'prod' : 'standby',
    binding: 'prod',
    epoch: 3,
    holdsLease: revision === 'green',
    processing: revision === 'green',
    writes: { prod: 10, temp: 0, rejected: 0 },
    errors: 0,
    heartbeatAt: '2026-01-01T00:00:00.000Z',
  };
}

/** Production as a healthy green leaves it: leased at the epoch, writing, heartbeats from both. */
function look(at: number, checkpoint: number, over: Partial<ProgressObservation> = {}): ProgressObservation {
  return {
    observedAt: at,
    epoch: 3,
    active: 'green',
    lease: { revision: 'green', epoch: 3 },
    lastWrite: { revision: 'green', epoch: 3, at: new Date(at).toISOString() },
    checkpoint,
    reports: [report('blue'), report('green')],
    ...over,
  };
}

describe('assessProgress', () => {
  it('passes a green that keeps committing, and takes a first look as a baseline', () => {
    expect(assessProgress(undefined, look(0, 500), spec)).toMatchObject({ verdict: 'pending' });
    expect(assessProgress(look(0, 500), look(1000, 600), spec)).toEqual({
      verdict: 'pass',
      message: 'green committed 100 ids in 1.0s',
      advanced: 100,
    });
  });

  it('fails a stall: alive, leased, heartbeat fresh, checkpoint not moving', () => {
    const stalled = { lastWrite: { revision: 'green', epoch: 3, at: new Date(0).toISOString() } };
    const r = assessProgress(look(0, 500), look(2000, 500, stalled), spec);
    expect(r).toMatchObject({ verdict: 'fail', advanced: 0 });
    expect(r.message).toBe(
      'green is stalled: alive and holding the lease, but its checkpoint stayed at 500 for 2.0s',
    );
  });

  it('fails a stall from the last-write stamp when no checkpoint is kept', () => {
    const previous = look(0, 0, { checkpoint: undefined });
    const same = look(1500, 0, { checkpoint: undefined, lastWrite: previous.lastWrite! });
    expect(assessProgress(previous, same, spec)).toMatchObject({
      verdict: 'fail',
      message: 'green is stalled: alive and holding the lease, but has not written to production for 1.5s',
    });
    expect(assessProgress(previous, look(1500, 0, { checkpoint: undefined }), spec).verdict).toBe('pass');
  });

  it('fails a crash: the lease lapsed and the heartbeat stopped', () => {
    const crashed = look(6000, 500, { lease: undefined, reports: [report('blue')] });
    expect(assessProgress(look(0, 500), crashed, spec)).toMatchObject({
      verdict: 'fail',
      message: 'green has stopped reporting (no fresh heartbeat): it crashed or was stopped',
    });
    // Heartbeat still fresh (reports outlive the lease), lease gone: still a failure, on the lease.
    expect(assessProgress(look(0, 500), look(6000, 500, { lease: undefined }), spec)).toMatchObject({
      verdict: 'fail',
      message: 'green does not hold the production lease at epoch 3 (nobody holds it)',
    });
  });

  it('fails when the record changed under the rollout or someone else writes', () => {
    expect(assessProgress(undefined, look(0, 1, { epoch: 4, active: 'blue' }), spec).message).toMatch(
      /control record changed under the rollout: epoch 4, active blue/,
    );
    const other = look(0, 1, { lastWrite: { revision: 'blue', epoch: 2, at: new Date(0).toISOString() } });
    expect(assessProgress(undefined, other, spec)).toMatchObject({
      verdict: 'fail',
      message: 'green has not written to production at epoch 3',
    });
  });

  it('with the source position known: bounds the lag over a whole interval, and an idle source is no stall', () => {
    // Over the limit at one look only: a burst it may catch up with by the next check.
    expect(
      assessProgress(look(0, 500, { source: 510 }), look(1000, 600, { source: 800 }), spec),
    ).toMatchObject({
      verdict: 'pending',
      lag: 200,
      message:
        'green is 200 frames behind the source at 800 (at most 100): a stall if still so at the next check',
    });
    expect(assessProgress(undefined, look(0, 600, { source: 800 }), spec)).toMatchObject({
      verdict: 'pending',
      lag: 200,
    });
    // Over the limit at two looks in a row, though it commits: it is not keeping up.
    expect(assessProgress(look(0, 600, { source: 800 }), look(1000, 700, { source: 950 }), spec)).toEqual({
      verdict: 'fail',
      lag: 250,
      advanced: 100,
      message:
        'green is 250 frames behind the source at 950 (at most 100), and was 200 behind 1.0s before: it is not keeping up',
    });
    // Caught up by the next look: in step again.
    expect(
      assessProgress(look(0, 600, { source: 800 }), look(1000, 900, { source: 950 }), spec),
    ).toMatchObject({ verdict: 'pass', lag: 50, advanced: 300 });
    // Not committing at all while the source moves is a stall at once, whatever the lag.
    expect(
      assessProgress(look(0, 600, { source: 650 }), look(1000, 600, { source: 800 }), spec),
    ).toMatchObject({ verdict: 'fail', message: expect.stringMatching(/stalled/) });
    expect(
      assessProgress(look(0, 500, { source: 510 }), look(1000, 600, { source: 650 }), spec),
    ).toMatchObject({ verdict: 'pass', lag: 50, advanced: 100 });
    const idle = look(1000, 500, { source: 500, lastWrite: look(0, 500).lastWrite! });
    expect(assessProgress(look(0, 500, { source: 500 }), idle, spec)).toMatchObject({
      verdict: 'pass',
      message: 'the source is idle and green is caught up',
    });
    expect(
      assessProgress(look(0, 500, { source: 510 }), look(1000, 500, { source: 560 }), spec),
    ).toMatchObject({
      verdict: 'fail',
      message: expect.stringMatching(/stalled.*while the source reached 560/),
    });
  });
});
