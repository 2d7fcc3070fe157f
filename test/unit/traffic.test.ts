import type { TrafficEntry } from '../../src/domain/ports/containerApps';
import { stepTraffic, trafficShapeProblems, withLabel, withoutLabel } from '../../src/domain/rollout/traffic';

const blue: TrafficEntry[] = [{ revisionName: 'web--v1', weight: 100 }];

describe('promotion traffic', () => {
  it('moves weight to green step by step, always summing to 100', () => {
    expect(stepTraffic(blue, 'web--v2', 10)).toEqual([
      { revisionName: 'web--v1', weight: 90 },
      { revisionName: 'web--v2', weight: 10 },
    ]);
    expect(stepTraffic(blue, 'web--v2', 100)).toEqual([{ revisionName: 'web--v2', weight: 100 }]);
  });

  it('spreads the remainder over a split baseline in proportion, with whole weights', () => {
    const split: TrafficEntry[] = [
      { revisionName: 'a', weight: 67 },
      { revisionName: 'b', weight: 33 },
    ];
    const t = stepTraffic(split, 'g', 10);
    expect(t).toEqual([
      { revisionName: 'a', weight: 60 },
      { revisionName: 'b', weight: 30 },
      { revisionName: 'g', weight: 10 },
    ]);
  });

  it('keeps labelled zero-weight entries and never breaks the invariant, over many random baselines', () => {
    let seed = 42;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let n = 0; n < 500; n++) {
      const count = 1 + Math.floor(rnd() * 4);
      const cuts = Array.from({ length: count - 1 }, () => Math.floor(rnd() * 101)).sort((a, b) => a - b);
      const bounds = [0, ...cuts, 100];
      const baseline: TrafficEntry[] = bounds.slice(1).map((b, i) => ({
        revisionName: `r${i}`,
        weight: b - (bounds[i] ?? 0),
      }));
      baseline.push({ revisionName: 'old', weight: 0, label: 'canary' });
      for (const w of [0, 1, 10, 33, 50, 99, 100]) {
        const t = stepTraffic(baseline, 'green', w);
        expect(trafficShapeProblems(t)).toEqual([]);
        expect(t.find((e) => e.revisionName === 'green')?.weight ?? 0).toBe(w);
        expect(t).toContainEqual({ revisionName: 'old', weight: 0, label: 'canary' });
      }
    }
  });

  it('moves a label onto a revision, adding a 0% entry when it has none', () => {
    const labelled = withLabel(withLabel(blue, 'blue', 'web--v1'), 'green', 'web--v2');
    expect(labelled).toEqual([
      { revisionName: 'web--v1', weight: 100, label: 'blue' },
      { revisionName: 'web--v2', weight: 0, label: 'green' },
    ]);
    expect(withLabel(labelled, 'blue', 'web--v2')).toEqual([
      { revisionName: 'web--v1', weight: 100 },
      { revisionName: 'web--v2', weight: 0, label: 'green' },
      { revisionName: 'web--v2', weight: 0, label: 'blue' },
    ]);
  });

  it('names what is wrong with bad traffic', () => {
    expect(
      trafficShapeProblems([
        { revisionName: 'a', weight: 50.5, label: 'x' },
        { revisionName: 'b', weight: 40, label: 'x' },
        { revisionName: '', weight: 10, label: 'Not_A_Label' },
      ]),
    ).toEqual([
      'traffic[0].weight must be a whole number from 0 to 100; got 50.5',
      "traffic[1]: label 'x' is already used by another entry",
      'traffic[2].revisionName is required',
      "traffic[2]: label 'Not_A_Label' must be lowercase letters, digits and single hyphens, starting with a letter and ending with a letter or digit",
    ]);
    expect(trafficShapeProblems([{ revisionName: 'a', weight: 90 }])).toEqual([
      'weights must sum to 100; got 90 (a=90)',
    ]);
    expect(trafficShapeProblems([])).toEqual(['traffic must hold at least one entry']);
  });

  it('takes a label off, dropping an entry left with neither weight nor label', () => {
    const labelled = [
      { revisionName: 'web--v1', weight: 100, label: 'blue' },
      { revisionName: 'web--v2', weight: 0, label: 'green' },
    ];
    expect(withoutLabel(labelled, 'green')).toEqual([
      { revisionName: 'web--v1', weight: 100, label: 'blue' },
    ]);
    expect(withoutLabel(labelled, 'blue')).toEqual([
      { revisionName: 'web--v1', weight: 100 },
      { revisionName: 'web--v2', weight: 0, label: 'green' },
    ]);
    expect(withoutLabel(labelled, 'absent')).toEqual(labelled);
  });
});
