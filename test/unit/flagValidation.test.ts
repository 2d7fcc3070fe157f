import type { RevisionReport } from '../../src/domain/flag/control';
import {
  assessFlip,
  assessMock,
  type MockObservation,
  type MockSpec,
} from '../../src/domain/flag/validation';

const at = '2026-03-01T00:00:00.000Z';
const spec: MockSpec = {
  deadlineMs: 300_000,
  minRecords: 100,
  requiredFields: ['frameId', 'payload'],
  consumerGroup: 'processor',
  maxLag: 20,
  maxErrors: 0,
};

function report(over: Partial<RevisionReport> = {}): RevisionReport {
  return {
    revision: 'worker--green',
    mode: 'mock',
    binding: 'temp',
    epoch: 3,
    holdsLease: true,
    processing: true,
    writes: { prod: 0, temp: 150, rejected: 0 },
    errors: 0,
    heartbeatAt: at,
    ...over,
  };
}

function obs(over: Partial<MockObservation> = {}): MockObservation {
  return {
    report: report(),
    flags: { mode: 'mock', binding: 'temp' },
    records: 150,
    sampled: 50,
    malformed: [],
    lag: { lag: 2, pending: 1 },
    ...over,
  };
}

describe('assessMock', () => {
  it('passes a green that wrote enough well-formed records, holds its lease, and whose consumer keeps up', () => {
    const r = assessMock(spec, obs(), at);
    expect(r).toMatchObject({ verdict: 'pass', records: 150, malformed: 0, lag: 3, holdsLease: true });
  });

  it.each<[string, Partial<MockObservation>, RegExp]>([
    ['no heartbeat yet', { report: undefined }, /has not reported/],
    ['agent not yet in mock mode', { report: report({ mode: 'standby' }) }, /still applies mode standby/],
    ['no mock-path lease', { report: report({ holdsLease: false }) }, /does not hold its mock-path lease/],
    ['too few records', { records: 99 }, /wrote 99 of 100 records/],
    ['consumer group missing', { lag: undefined }, /'processor' has not read/],
    ['consumer behind', { lag: { lag: 30, pending: 0 } }, /30 records behind \(at most 20\)/],
  ])('waits (pending) when %s', (_name, over, message) => {
    const r = assessMock(spec, obs(over), at);
    expect(r.verdict).toBe('pending');
    expect(r.message).toMatch(message);
  });

  it.each<[string, Partial<MockObservation>, RegExp]>([
    [
      'records lack required fields',
      { malformed: [{ index: 4, missing: ['payload'] }] },
      /1 of 50 sampled records lack required fields \(record 4: payload\)/,
    ],
    ['errors above the limit', { report: report({ errors: 2 }) }, /reported 2 errors \(at most 0 allowed\)/],
    [
      'green wrote to production',
      { report: report({ writes: { prod: 3, temp: 10, rejected: 0 } }) },
      /to production while in mock mode/,
    ],
    [
      'the record does not say mock/temp',
      { flags: { mode: 'standby', binding: 'prod' } },
      /standby\/prod in the control record/,
    ],
  ])('fails at once when %s', (_name, over, message) => {
    const r = assessMock(spec, obs(over), at);
    expect(r.verdict).toBe('fail');
    expect(r.message).toMatch(message);
  });

  it('does not ask for a consumer when the policy names none', () => {
    expect(assessMock({ ...spec, consumerGroup: undefined }, obs({ lag: undefined }), at).verdict).toBe(
      'pass',
    );
  });
});

describe('assessFlip', () => {
  const expectGreen = { active: 'worker--green', epoch: 4 };
  const prodReport = (revision: string, over: Partial<RevisionReport> = {}) =>
    report({ revision, mode: 'prod', binding: 'prod', epoch: 4, ...over });

  it('passes when green holds the lease at the new epoch, has written, and blue stopped', () => {
    const r = assessFlip(expectGreen, {
      epoch: 4,
      active: 'worker--green',
      lease: { revision: 'worker--green', epoch: 4 },
      lastWrite: { revision: 'worker--green', epoch: 4 },
      reports: [
        prodReport('worker--green'),
        report({ revision: 'worker--blue', mode: 'standby', processing: false }),
      ],
    });
    expect(r.verdict).toBe('pass');
  });

  it('waits while blue still processes production or green has not taken the lease or written', () => {
    const base = {
      epoch: 4,
      active: 'worker--green',
      lease: { revision: 'worker--green', epoch: 4 },
      lastWrite: { revision: 'worker--green', epoch: 4 },
      reports: [prodReport('worker--green')],
    };
    expect(
      assessFlip(expectGreen, {
        ...base,
        reports: [...base.reports, prodReport('worker--blue', { epoch: 3 })],
      }),
    ).toMatchObject({ verdict: 'pending', message: expect.stringMatching(/worker--blue still processing/) });
    expect(assessFlip(expectGreen, { ...base, lease: { revision: 'worker--blue', epoch: 3 } })).toMatchObject(
      {
        verdict: 'pending',
        message: expect.stringMatching(/held by worker--blue at epoch 3/),
      },
    );
    expect(
      assessFlip(expectGreen, { ...base, lastWrite: { revision: 'worker--blue', epoch: 3 } }),
    ).toMatchObject({
      verdict: 'pending',
      message: expect.stringMatching(/has not written to production since the flip/),
    });
  });

  it('fails when the control record changed under the rollout', () => {
    expect(assessFlip(expectGreen, { epoch: 5, active: 'worker--other', reports: [] })).toMatchObject({
      verdict: 'fail',
      message: expect.stringMatching(/changed under the rollout/),
    });
  });
});
