import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import type { RolloutStore } from '../adapters/redis/rolloutStore';
import type { RolloutInput } from '../domain/rollout/types';
import { Events, Orchestrators, watchInstanceId } from '../names';
import { runningRolloutOf } from './appLock';

export type Admission =
  | { kind: 'started'; rolloutId: string }
  | { kind: 'duplicate'; rolloutId: string }
  | { kind: 'queued'; rolloutId: string; behind: string }
  | { kind: 'superseding'; rolloutId: string; superseded: string; dropped: string[] }
  | { kind: 'rejected'; rolloutId: string; running: string };

const finished = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

export async function tryGetStatus(
  client: DurableClient,
  instanceId: string,
  options: { showInput?: boolean } = {},
): Promise<DurableOrchestrationStatus | undefined> {
  try {
    return await client.getStatus(instanceId, options);
  } catch (e) {
    // The client throws on 404; anything else is a real failure.
    if (e instanceof Error && /\b404\b|not found/i.test(e.message)) return undefined;
    throw e;
  }
}

/**
 * Decides what happens to a new rollout request: one rollout per app at a time, the same image twice is
 * the same rollout, and the policy's concurrency says what a newer image does to a running one.
 */
export async function admitRollout(
  deps: { client: DurableClient; store: RolloutStore },
  input: RolloutInput,
  concurrency: 'supersede' | 'queue' | 'reject',
): Promise<Admission> {
  const { client, store } = deps;
  const app = input.plan.app;
  const id = input.rolloutId;

  if (await tryGetStatus(client, id)) return { kind: 'duplicate', rolloutId: id };
  if ((await store.queued(app)).some((q) => q.rolloutId === id)) return { kind: 'duplicate', rolloutId: id };

  let claimed = await store.claimApp(app, id);
  let holder: string | undefined;
  if (!claimed) {
    holder = await store.activeRollout(app);
    if (holder === id) return { kind: 'duplicate', rolloutId: id };
    // A holder whose instance is gone or finished (e.g. terminated by hand) no longer holds the app.
    const holderStatus = holder ? await tryGetStatus(client, holder) : undefined;
    if (!holder || !holderStatus || finished.has(String(holderStatus.runtimeStatus))) {
      claimed = await store.takeOverApp(app, holder ?? '', id);
    }
  }
  if (claimed) {
    // A free lock while the app's rollout still runs means Redis lost it: hand it back, and queue behind.
    const other = await runningRolloutOf(client, app, id);
    if (other) {
      await store.takeOverApp(app, id, other);
      claimed = false;
      holder = other;
    }
  }
  if (claimed) {
    await start(client, store, input);
    return { kind: 'started', rolloutId: id };
  }
  const running = holder ?? 'unknown';
  // A coordinated release is one decision over several apps: one app's newer image never tears it down
  // (that would roll its other members back too); it waits behind the release instead.
  const effective =
    concurrency === 'supersede' && (await heldByRelease(client, running)) ? 'queue' : concurrency;
  switch (effective) {
    case 'reject':
      return { kind: 'rejected', rolloutId: id, running };
    case 'queue':
      await store.enqueue(app, { rolloutId: id, input });
      await startNextQueued(client, store, input.plan.app);
      return { kind: 'queued', rolloutId: id, behind: running };
    case 'supersede': {
      const dropped = await store.replaceQueue(app, { rolloutId: id, input });
      await raiseQuietly(client, running, Events.abort, { by: 'greenlight', reason: `superseded by ${id}` });
      await raiseQuietly(client, watchInstanceId(running), Events.abort, {
        by: 'greenlight',
        reason: `superseded by ${id}`,
      });
      await startNextQueued(client, store, input.plan.app);
      return {
        kind: 'superseding',
        rolloutId: id,
        superseded: running,
        dropped: dropped.map((d) => d.rolloutId),
      };
    }
  }
}

/** Starts the first queued rollout when the app is free (after a rollout ends, or a race with one ending). */
export async function startNextQueued(
  client: DurableClient,
  store: RolloutStore,
  app: RolloutInput['plan']['app'],
): Promise<string | undefined> {
  const next = await store.claimNext(app);
  if (!next) return undefined;
  try {
    await client.startNew(Orchestrators.rollout, { instanceId: next.rolloutId, input: next.input });
  } catch (e) {
    // Its caller was told "queued": put it back first in line, for the next finish (or retry) to start.
    await store.unclaimNext(app, next);
    throw e;
  }
  return next.rolloutId;
}

async function start(client: DurableClient, store: RolloutStore, input: RolloutInput): Promise<void> {
  try {
    await client.startNew(Orchestrators.rollout, { instanceId: input.rolloutId, input });
  } catch (e) {
    await store.releaseApp(input.plan.app, input.rolloutId);
    throw e;
  }
}

/** Raises an event, ignoring an instance that does not exist or already ended. */
export async function raiseQuietly(
  client: DurableClient,
  instanceId: string,
  event: string,
  data: unknown,
): Promise<boolean> {
  try {
    await client.raiseEvent(instanceId, event, data);
    return true;
  } catch (e) {
    if (e instanceof Error && /\b(404|410)\b|not found|no instance with id/i.test(e.message)) return false;
    throw e;
  }
}

/** Whether the app's holder is a release, or a rollout started as one of a release's members. */
async function heldByRelease(client: DurableClient, holder: string): Promise<boolean> {
  const status = await tryGetStatus(client, holder, { showInput: true });
  if (!status) return false;
  if (status.name === Orchestrators.release) return true;
  return (status.input as Partial<RolloutInput> | null | undefined)?.release !== undefined;
}
