import type { Task } from 'durable-functions';
import { callEach } from '../../activities/contract';
import { channelWants, type NotificationChannel } from '../../domain/notify/channels';
import type { NotificationEvent, NotificationKind } from '../../domain/notify/events';
import { Activities } from '../../names';
import type { EventFacts } from '../notify';
import type { ReleaseRun } from './run';

const deliveryBudgetMs = 10_000;
const sequences = new WeakMap<ReleaseRun, number>();

/**
 * Tells the members' channels about the release itself (its approval, how it ended): the members tell
 * their own steps as any rollout does, but only the release asks for approval and decides the outcome.
 * Each channel once, however many members name it; nothing here can fail the release.
 */
export function* notifyRelease<K extends NotificationKind>(
  rel: ReleaseRun,
  kind: K,
  facts: EventFacts<K>,
): Generator<Task, void, unknown> {
  const sequence = (sequences.get(rel) ?? 0) + 1;
  sequences.set(rel, sequence);
  const channels = new Map<string, NotificationChannel>();
  for (const m of rel.input.members) {
    for (const c of m.input.plan.notifications ?? []) {
      if (channelWants(c, kind) && !channels.has(c.name)) channels.set(c.name, c);
    }
  }
  if (channels.size === 0) return;
  const event = {
    id: `release:${sequence}:${kind}`,
    rolloutId: rel.releaseId,
    policy: rel.plan.name,
    app: rel.input.members.map((m) => m.app).join(', '),
    at: rel.context.df.currentUtcDateTime.toISOString(),
    image: { to: rel.input.members.map((m) => `${m.app}=${m.input.image}`).join(', ') },
    kind,
    ...facts,
  } as NotificationEvent;
  try {
    const outcomes = yield* callEach(
      rel.context,
      Activities.deliverNotification,
      [...channels.values()].map((channel) => ({ event, channel, budgetMs: deliveryBudgetMs })),
    );
    const failed = outcomes.filter((o) => o.status === 'failed');
    if (failed.length) {
      rel.recorder.note(`notification ${kind} failed on ${failed.map((o) => o.channel).join(', ')}`);
    }
  } catch (e) {
    rel.recorder.note(`notification ${kind} not delivered: ${e instanceof Error ? e.message : String(e)}`);
  }
}
