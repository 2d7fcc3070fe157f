import { heaviestRevision, sameTraffic, trafficProblems } from '../../src/domain/rollout/traffic';

const revisions = [
  { name: 'web--a', active: true },
  { name: 'web--b', active: true },
  { name: 'web--old', active: false },
];

describe('traffic against the app’s revisions', () => {
  it('accepts weights summing to 100 on active revisions, and a 0% entry on an inactive one', () => {
    expect(
      trafficProblems(
        [
          { revisionName: 'web--a', weight: 90, label: 'blue' },
          { revisionName: 'web--b', weight: 10 },
          { revisionName: 'web--old', weight: 0, label: 'previous' },
        ],
        revisions,
      ),
    ).toEqual([]);
  });

  it('names an unknown revision, weight on an inactive one, and a sum other than 100', () => {
    expect(
      trafficProblems(
        [
          { revisionName: 'web--gone', weight: 50 },
          { revisionName: 'web--old', weight: 40 },
        ],
        revisions,
      ),
    ).toEqual([
      'weights must sum to 100; got 90 (web--gone=50, web--old=40)',
      "traffic[0]: revision 'web--gone' does not exist",
      "traffic[1]: revision 'web--old' is inactive and cannot take 40%; activate it first",
    ]);
  });

  it('compares traffic regardless of order, but not regardless of labels', () => {
    const a = [
      { revisionName: 'web--a', weight: 90, label: 'blue' },
      { revisionName: 'web--b', weight: 10 },
    ];
    expect(sameTraffic(a, [...a].reverse())).toBe(true);
    expect(sameTraffic(a, [{ revisionName: 'web--a', weight: 90 }, a[1]!])).toBe(false);
  });

  it('finds the revision with the most traffic, the first of equals', () => {
    expect(
      heaviestRevision([
        { revisionName: 'web--a', weight: 0, label: 'x' },
        { revisionName: 'web--b', weight: 50 },
        { revisionName: 'web--c', weight: 50 },
      ]),
    ).toBe('web--b');
    expect(heaviestRevision([{ revisionName: 'web--a', weight: 0 }])).toBeUndefined();
  });
});
