import { summarizeRollout } from '../../src/services/rolloutView';
import {
  type E2E,
  assertTrafficInvariant,
  getRollout,
  seed,
  serving,
  startE2E,
  startRollout,
  trafficPolicy,
  untilDone,
} from './support';

/**
 * Many rollouts in one subscription against ARM buckets far smaller than ARM's documented ones (which
 * Greenlight's budget starts from): the shared budget learns from ARM's remaining counts and 429s, so every
 * rollout converges and none fails because of throttling.
 */
describe('rollouts under ARM throttling', () => {
  let e: E2E | undefined;
  afterEach(async () => {
    await e?.stop();
    e = undefined;
  });

  const names = Array.from({ length: 20 }, (_, i) => `busy-${String(i).padStart(2, '0')}`);

  // Convergence is asserted, not speed: a run takes under a minute alone, several on a loaded 2-core machine.
  // A rollout that is stuck stays stuck, so the bound only decides how soon that is reported.
  const convergeWithinMs = 300_000;

  it(
    '20 rollouts started at once in one subscription with tight buckets all converge',
    async () => {
      e = await startE2E(
        names.map((n) =>
          trafficPolicy(n, {
            strategy: { type: 'traffic', steps: [10, 50, 100], stepPause: 'PT0S' },
            watch: { duration: 'PT0S' },
            cleanup: { deactivateAfter: 'PT0S', keepRevisions: 2 },
          }),
        ),
        {
          emulator: {
            throttling: {
              reads: { size: 40, refillPerSecond: 20 },
              writes: { size: 15, refillPerSecond: 8 },
            },
          },
        },
      );
      const env = e;
      for (const n of names) await seed(env, n);
      const ids = await Promise.all(names.map((n) => startRollout(env, n, 'v2')));
      const settled = await Promise.allSettled(ids.map((id) => untilDone(env, id, convergeWithinMs)));
      const stuck = ids.filter((_, i) => settled[i]?.status === 'rejected');
      if (stuck.length > 0) throw new Error(await whyStuck(env, stuck));
      const done = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(
        done.map(
          (v) => `${v.app.name}: ${String(v.outcome)}${v.outcome === 'Succeeded' ? '' : ` ${v.reason}`}`,
        ),
      ).toEqual(names.map((n) => `${n}: Succeeded`));
      for (const n of names) {
        assertTrafficInvariant(env, n);
        expect(serving(env, n).filter((t) => t.weight > 0)).toEqual([
          expect.objectContaining({
            revisionName: expect.stringMatching(new RegExp(`^${n}--`)),
            weight: 100,
          }),
        ]);
      }
      const stats = env.stack.emulator.throttling();
      // The buckets were met: more writes went through than they hold.
      expect(stats?.allowed.writes).toBeGreaterThan(15 * 3);
      process.stderr.write(`throttled rollouts: ARM ${JSON.stringify(stats)}\n`);
    },
    convergeWithinMs + 120_000,
  );
});

/**
 * What a rollout that did not finish was waiting for: its last status, the tasks its history scheduled and
 * never got an answer for (an activity, a timer), the virtual clock, and ARM's last answers for its app.
 */
async function whyStuck(e: E2E, ids: string[]): Promise<string> {
  const lines = [`${ids.length} rollout(s) did not finish (virtual clock at ${iso(e.clock.now())}):`];
  for (const id of ids) {
    try {
      const view = await getRollout(e.gl, id);
      lines.push(`- ${summarizeRollout(view)}`);
      lines.push(`  last update ${view.lastUpdatedAt}; readiness: ${JSON.stringify(view.checks.readiness)}`);
      const status = await e.stack.runtime.durableClient().getStatus(id, { showHistory: true });
      lines.push(
        `  outstanding: ${outstanding((status.history ?? []) as HistoryEntry[]).join('; ') || 'none (between tasks: a replay runs or is due)'}`,
      );
      const arm = e.stack.emulator.requestLog.filter((r) =>
        r.path.includes(`/containerApps/${view.app.name}`),
      );
      lines.push(
        `  ARM's last answers for ${view.app.name}: ${arm
          .slice(-5)
          .map((r) => `${r.at} ${r.method} ${r.path.split('/').slice(-2).join('/')} ${r.status}`)
          .join(', ')}`,
      );
    } catch (err) {
      lines.push(`- ${id}: cannot describe it: ${String(err)}`);
    }
  }
  return lines.join('\n');
}

interface HistoryEntry {
  EventType: string;
  EventId?: number;
  TaskScheduledId?: number;
  TimerId?: number;
  Name?: string;
  FireAt?: string;
  Timestamp?: string;
}

/** Activities scheduled without a completion and timers created without firing, from `showHistory`. */
function outstanding(history: HistoryEntry[]): string[] {
  const answered = new Set<number>();
  for (const h of history) {
    if (h.EventType === 'TaskCompleted' || h.EventType === 'TaskFailed')
      answered.add(h.TaskScheduledId ?? -1);
    if (h.EventType === 'TimerFired') answered.add(h.TimerId ?? -1);
  }
  return history.flatMap((h) => {
    if (h.EventId === undefined || answered.has(h.EventId)) return [];
    if (h.EventType === 'TaskScheduled') return [`activity ${h.Name} #${h.EventId} since ${h.Timestamp}`];
    if (h.EventType === 'TimerCreated') return [`timer #${h.EventId} due ${h.FireAt}`];
    return [];
  });
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
