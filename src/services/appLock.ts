import type { DurableClient } from 'durable-functions';
import { appKey } from '../domain/flag/control';
import type { AppRef } from '../domain/ports';
import type { RolloutStatus } from '../domain/rollout/types';
import { Orchestrators } from '../names';

/**
 * The rollout of `app` the task hub still runs, other than `except`. The app lock lives in Redis; the
 * task hub is the truth about what runs. A Redis that lost its data (restarted empty, flushed) frees
 * every lock while rollouts go on: admission asks here before it trusts a lock it just took.
 */
export async function runningRolloutOf(
  client: DurableClient,
  app: AppRef,
  except: string,
): Promise<string | undefined> {
  const running = await client.getStatusBy({ runtimeStatus: ['Running', 'Pending'] as never });
  const key = appKey(app);
  return running
    .filter((s) => s.name === Orchestrators.rollout && s.instanceId !== except)
    .find((s) => {
      const status = s.customStatus as Partial<RolloutStatus> | null | undefined;
      // A rollout in its undo window (Succeeded, `undo` set) released the app at Succeeded.
      return status?.app !== undefined && status.undo === undefined && appKey(status.app) === key;
    })?.instanceId;
}
