import type { TrafficChange } from '../../local/containerapps-emulator';

/**
 * The invariant every rollout keeps, checked on every traffic write the app received, accepted or refused:
 * the weights sum to 100, no weight points at a revision that was not ready, and a green that failed its
 * checks never gets traffic. Reading refused writes too matters: the emulator, like ACA, refuses a bad write,
 * so the app's stored traffic alone could never show one.
 */
export function trafficInvariantProblems(
  writes: readonly TrafficChange[],
  opts: { greenNeverServed?: string } = {},
): string[] {
  const problems: string[] = [];
  for (const write of writes) {
    const when = `${new Date(write.at).toISOString()} (${write.accepted ? 'accepted' : `refused: ${write.refusal}`})`;
    const sum = write.traffic.reduce((n, t) => n + t.weight, 0);
    if (sum !== 100) problems.push(`traffic summed to ${sum} at ${when}`);
    for (const t of write.traffic) {
      if (t.weight > 0 && !write.ready.includes(t.revisionName)) {
        problems.push(`${t.revisionName} got ${t.weight}% while not ready at ${when}`);
      }
      if (opts.greenNeverServed && t.revisionName === opts.greenNeverServed && t.weight > 0) {
        problems.push(`${t.revisionName} failed its checks but got ${t.weight}% at ${when}`);
      }
    }
  }
  return problems;
}
