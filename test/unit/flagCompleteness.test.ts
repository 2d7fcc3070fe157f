import { assessCompleteness } from '../../src/domain/flag/completeness';
import { assessMock, type MockObservation, type MockSpec } from '../../src/domain/flag/validation';

const range = (first: number, last: number): number[] =>
  Array.from({ length: last - first + 1 }, (_, i) => first + i);

describe('assessCompleteness', () => {
  it('passes every id of the range written once, in order', () => {
    const r = assessCompleteness(range(101, 200), undefined, 0);
    expect(r).toMatchObject({
      verdict: 'pass',
      expected: { first: 101, last: 200, from: 'ids' },
      seen: 100,
      holes: { count: 0, longest: 0, examples: [] },
      duplicates: { count: 0 },
      reordered: { count: 0 },
      truncated: false,
    });
    expect(r.message).toBe('ids 101-200 all written once');
  });

  it('fails holes and names the first few missing ids', () => {
    // As the `drops` image writes: every 10th frame lost.
    const ids = range(1, 100).filter((id) => id % 10 !== 0);
    const r = assessCompleteness(ids, undefined, 0);
    expect(r.verdict).toBe('fail');
    // 100 is the last id the source sent but green never wrote: without the source's range it cannot show.
    expect(r.holes).toEqual({ count: 9, longest: 1, examples: [10, 20, 30, 40, 50] });
    expect(r.message).toBe(
      'output is incomplete: 9 of ids 1-99 missing (e.g. 10, 20, 30, 40, 50; longest run 1, at most 0 tolerated)',
    );
  });

  it('tolerates runs of missing ids up to maxGap, and fails a longer one', () => {
    const short = [1, 2, 4, 5, 7, 8];
    expect(assessCompleteness(short, undefined, 1)).toMatchObject({
      verdict: 'pass',
      holes: { count: 2, longest: 1 },
    });
    expect(assessCompleteness(short, undefined, 1).message).toMatch(
      /2 ids missing within the tolerated gap of 1/,
    );
    const long = [1, 2, 6, 7];
    expect(assessCompleteness(long, undefined, 2)).toMatchObject({
      verdict: 'fail',
      holes: { count: 3, longest: 3, examples: [3, 4, 5] },
    });
  });

  it('fails ids written twice and names them', () => {
    const r = assessCompleteness([1, 2, 3, 3, 4, 5, 5, 6], undefined, 0);
    expect(r).toMatchObject({
      verdict: 'fail',
      duplicates: { count: 2, examples: [3, 5] },
      holes: { count: 0 },
      reordered: { count: 0 },
    });
    expect(r.message).toBe('output is incomplete: 2 ids written twice (e.g. 3, 5)');
  });

  it('reports reordering without failing when every id is there once', () => {
    const r = assessCompleteness([1, 2, 4, 3, 5, 7, 6, 8], undefined, 0);
    expect(r).toMatchObject({ verdict: 'pass', reordered: { count: 2, examples: [3, 6] } });
    expect(r.message).toBe('ids 1-8 all written once; 2 ids out of order (e.g. 3, 6)');
  });

  it('checks against the source range when known: holes at either end show', () => {
    const r = assessCompleteness(range(5, 95), { first: 1, last: 100 }, 0);
    expect(r).toMatchObject({
      verdict: 'fail',
      expected: { first: 1, last: 100, from: 'source' },
      holes: { count: 9, longest: 5, examples: [1, 2, 3, 4, 96] },
    });
    expect(assessCompleteness([], { first: 1, last: 3 }, 0)).toMatchObject({
      verdict: 'fail',
      message: 'none of ids 1-3 the source emitted was written',
    });
  });

  it('in a truncated window, judges only from the oldest id read, and says so', () => {
    // The newest 50 records of a long run: what came before them was not read, so it is no hole.
    const r = assessCompleteness(range(951, 1000), { first: 1, last: 1000 }, 0, {
      truncated: true,
      unreadable: 2,
    });
    expect(r).toMatchObject({
      verdict: 'pass',
      truncated: true,
      unreadable: 2,
      expected: { first: 951, last: 1000 },
    });
    expect(r.message).toBe(
      'ids 951-1000 all written once; only the newest 52 records were read; 2 records without a readable id',
    );
    // A hole inside the window still fails.
    const holed = assessCompleteness(
      range(951, 1000).filter((id) => id !== 975),
      undefined,
      0,
      { truncated: true },
    );
    expect(holed).toMatchObject({ verdict: 'fail', holes: { examples: [975] }, truncated: true });
  });

  it('passes nothing written yet when the source range is unknown', () => {
    expect(assessCompleteness([], undefined, 0)).toMatchObject({ verdict: 'pass', seen: 0 });
  });
});

describe('assessMock with completeness', () => {
  const spec: MockSpec = {
    deadlineMs: 60_000,
    minRecords: 10,
    requiredFields: ['frameId'],
    maxLag: 20,
    maxErrors: 0,
    sequenceField: 'frameId',
    maxGap: 0,
  };
  const healthy: MockObservation = {
    report: {
      revision: 'green',
      mode: 'mock',
      binding: 'temp',
      epoch: 1,
      holdsLease: true,
      processing: true,
      writes: { prod: 0, temp: 100, rejected: 0 },
      errors: 0,
      heartbeatAt: '2026-01-01T00:00:00.000Z',
    },
    flags: { mode: 'mock', binding: 'temp' },
    records: 100,
    sampled: 50,
    malformed: [],
  };
  const at = '2026-01-01T00:00:00.000Z';

  it('fails a green with holes, naming them, before it has written enough to pass otherwise', () => {
    const completeness = assessCompleteness(
      range(1, 8).filter((id) => id !== 5),
      undefined,
      0,
    );
    const r = assessMock(spec, { ...healthy, records: 7, completeness }, at);
    expect(r).toMatchObject({ verdict: 'fail', holes: { count: 1, examples: [5] } });
    expect(r.message).toMatch(/output is incomplete: 1 of ids 1-8 missing \(e\.g\. 5;/);
  });

  it('passes a complete green and says so', () => {
    const completeness = assessCompleteness(range(1, 100), undefined, 0);
    const r = assessMock(spec, { ...healthy, completeness }, at);
    expect(r.verdict).toBe('pass');
    expect(r.message).toMatch(/ids 1-100 all written once/);
  });

  it('waits for ids when the spec names a sequence field and none was read', () => {
    expect(assessMock(spec, healthy, at)).toMatchObject({
      verdict: 'pending',
      message: "green's records carry no 'frameId' ids to check yet",
    });
    const { sequenceField: _none, ...without } = spec;
    expect(assessMock(without, healthy, at).verdict).toBe('pass');
  });
});
