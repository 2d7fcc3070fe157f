import type { Policy } from '../policy/schema';
import type { ReleasePolicy } from './types';

/**
 * What can only be checked with every app policy and release in hand: members that exist, lockstep
 * members that have steps, and releases that agree with each other. Each problem is
 * `source: field: what is wrong and how to fix it`, like the app policy's.
 */
export function releaseProblems(releases: readonly ReleasePolicy[], policies: readonly Policy[]): string[] {
  const problems: string[] = [];
  const byPolicy = new Map(policies.map((p) => [p.name, p]));
  const known = [...byPolicy.keys()].sort().join(', ') || '(none)';

  const byName = new Map<string, ReleasePolicy>();
  for (const r of releases) {
    const other = byName.get(r.name);
    if (other)
      problems.push(`${r.source}: name: '${r.name}' is also the name of the release in ${other.source}`);
    else byName.set(r.name, r);
    if (byPolicy.has(r.name)) {
      problems.push(
        `${r.source}: name: '${r.name}' is also the name of an app policy (${byPolicy.get(r.name)!.source}); give the release a name of its own`,
      );
    }

    r.members.forEach((m, i) => {
      const policy = byPolicy.get(m);
      if (!policy) {
        problems.push(`${r.source}: members[${i}]: no app policy is named '${m}'; app policies: ${known}`);
        return;
      }
      if (r.order === 'lockstep') {
        const why = stepless(policy);
        if (why) {
          problems.push(
            `${r.source}: members[${i}]: '${m}' ${why}, so it cannot move in lockstep; use order: sequence or give it traffic steps such as [10, 50, 100]`,
          );
        }
      }
    });
  }

  problems.push(...crossReleaseProblems([...byName.values()]));
  return problems;
}

/** Why a member has no steps to take in lockstep, if it has none. */
function stepless(policy: Policy): string | undefined {
  if (policy.strategy.type === 'flag') return "uses strategy 'flag' (one flip, no steps)";
  if (policy.strategy.steps.length < 2)
    return `has a single traffic step [${policy.strategy.steps.join(', ')}]`;
  return undefined;
}

/**
 * Releases sharing an app: the same members twice is one release written twice; a shared member must be
 * gathered the same way (or one push would belong to two releases on different terms); and their promotion
 * orders must not contradict each other (a cycle: one release promotes api before worker, another after).
 */
function crossReleaseProblems(releases: readonly ReleasePolicy[]): string[] {
  const problems: string[] = [];
  const bySet = new Map<string, ReleasePolicy>();
  for (const r of releases) {
    const key = [...r.members].sort().join('\u0000');
    const same = bySet.get(key);
    if (same) {
      problems.push(
        `${r.source}: members: the same apps as release '${same.name}' (${same.source}); merge them into one release`,
      );
    } else bySet.set(key, r);
  }

  const firstWith = new Map<string, ReleasePolicy>();
  for (const r of releases) {
    for (const m of r.members) {
      const other = firstWith.get(m);
      if (!other) {
        firstWith.set(m, r);
        continue;
      }
      const diffs = settingDiffs(other, r);
      if (diffs.length > 0) {
        problems.push(
          `${r.source}: members: '${m}' is also a member of release '${other.name}' (${other.source}) with other ${diffs.join(', ')}; a shared member needs the same settings in both`,
        );
      }
    }
  }

  const cycle = orderCycle(releases);
  if (cycle) {
    problems.push(
      `${cycle.releases.map((r) => r.source).join(', ')}: members: promotion orders contradict each other (${cycle.apps.join(' → ')}); list shared apps in the same order in every release`,
    );
  }
  return problems;
}

function settingDiffs(a: ReleasePolicy, b: ReleasePolicy): string[] {
  const diffs: string[] = [];
  if (a.gather.tagKey !== b.gather.tagKey) diffs.push('gather.tagKey');
  if (a.gather.window !== b.gather.window) diffs.push('gather.window');
  if (a.concurrency !== b.concurrency) diffs.push('concurrency');
  return diffs;
}

/** A cycle in "promoted before" across all releases, with the releases that make it, if there is one. */
function orderCycle(
  releases: readonly ReleasePolicy[],
): { apps: string[]; releases: ReleasePolicy[] } | undefined {
  const edges = new Map<string, Map<string, ReleasePolicy>>();
  for (const r of releases) {
    for (let i = 0; i + 1 < r.members.length; i++) {
      const from = r.members[i]!;
      const to = r.members[i + 1]!;
      if (!edges.has(from)) edges.set(from, new Map());
      if (!edges.get(from)!.has(to)) edges.get(from)!.set(to, r);
    }
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, 'visiting');
    path.push(node);
    for (const next of [...(edges.get(node)?.keys() ?? [])].sort()) {
      if (state.get(next) === 'visiting') return [...path.slice(path.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of [...edges.keys()].sort()) {
    if (state.has(node)) continue;
    const apps = visit(node);
    if (apps) {
      const rs = new Set<ReleasePolicy>();
      for (let i = 0; i + 1 < apps.length; i++) rs.add(edges.get(apps[i]!)!.get(apps[i + 1]!)!);
      return { apps, releases: [...rs] };
    }
  }
  return undefined;
}
