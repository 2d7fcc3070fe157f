import type { Task } from 'durable-functions';
import { callEach } from '../activities/contract';
import { channelWants } from '../domain/notify/channels';
import type { EventBase, NotificationEvent, NotificationKind } from '../domain/notify/events';
import { Activities } from '../names';
import type { RolloutRun } from './run';

/** A delivery ends within this, so a channel that is down holds a rollout up for seconds at most. */
const deliveryBudgetMs = 10_000;

/** The member of the event union whose kind covers K (some members share two kinds). */
type Member<E, K> = E extends { kind: infer EK }
  ? [K] extends [EK]
    ? Omit<E, keyof EventBase | 'kind'>
    : never
  : never;

/** What an event of kind K carries beyond the facts every event of the rollout has. */
export type EventFacts<K extends NotificationKind> = Member<NotificationEvent, K> &
  Pick<Partial<EventBase>, 'links'>;

interface NotifyState {
  /** Events sent so far: numbers them, so an event's id is the same on every replay. */
  sequence: number;
  previousImage?: string;
}

const states = new WeakMap<RolloutRun, NotifyState>();

function stateOf(run: RolloutRun): NotifyState {
  let state = states.get(run);
  if (!state) states.set(run, (state = { sequence: 0 }));
  return state;
}

/** The image production ran before the rollout, shown as "from" in every later event. */
export function rememberPreviousImage(run: RolloutRun, image: string | undefined): void {
  if (image) stateOf(run).previousImage = image;
}

/**
 * Whether any channel of the policy asked for this kind: a reminder's timer is only set when someone
 * will be reminded, so a policy without channels keeps its history as it was.
 */
export function anyoneWants(run: RolloutRun, kind: NotificationKind): boolean {
  return (run.plan.notifications ?? []).some((c) => channelWants(c, kind));
}

/**
 * Tells every channel of the policy that asked for this kind of event, in parallel, and records each
 * outcome in the status. Deliveries are not retried by the orchestration: each retries itself within
 * its budget and never throws, and its ledger keeps a replay or retry from sending twice. Nothing here
 * can fail the rollout.
 */
export function* notify<K extends NotificationKind>(
  run: RolloutRun,
  kind: K,
  facts: EventFacts<K>,
): Generator<Task, void, unknown> {
  const state = stateOf(run);
  state.sequence += 1;
  const channels = (run.plan.notifications ?? []).filter((c) => channelWants(c, kind));
  if (!channels.length) return;
  const { status } = run.recorder;
  const green = status.green ?? run.green;
  const event = {
    id: `${state.sequence}:${kind}`,
    rolloutId: run.input.rolloutId,
    policy: run.plan.policyName,
    app: run.app.name,
    at: run.context.df.currentUtcDateTime.toISOString(),
    image: { to: run.input.image, ...(state.previousImage ? { from: state.previousImage } : {}) },
    ...(status.blue[0] || green
      ? { revision: { ...(status.blue[0] ? { from: status.blue[0] } : {}), ...(green ? { to: green } : {}) } }
      : {}),
    kind,
    ...facts,
  } as NotificationEvent;
  const inputs = channels.map((channel) => ({ event, channel, budgetMs: deliveryBudgetMs }));
  try {
    const outcomes = yield* callEach(run.context, Activities.deliverNotification, inputs);
    run.recorder.notified(outcomes);
  } catch (e) {
    // Only a host failure gets here (the activity itself never throws): note it and carry on.
    run.recorder.note(`notification ${kind} not delivered: ${e instanceof Error ? e.message : String(e)}`);
  }
}
