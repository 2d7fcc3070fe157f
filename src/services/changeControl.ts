import type { DurableClient } from 'durable-functions';
import {
  admission,
  stopAppKey,
  type ChangeControlRules,
  type EmergencyStop,
  type Override,
  type StopScope,
} from '../domain/changeControl';
import type { AppRef, EmergencyStopStore } from '../domain/ports';
import type { AdmittedChangeControl, RolloutStatus } from '../domain/rollout/types';
import { Events, Orchestrators, watchInstanceId } from '../names';
import { raiseQuietly } from './admission';

export interface ChangeControlDeps {
  stops: EmergencyStopStore;
  /** The global rules (GREENLIGHT_CHANGE_CONTROL[_PATH]); absent: none. */
  global?: ChangeControlRules;
  now: () => number;
}

/**
 * Change control at admission: the verdict for a new rollout of this app now (open, wait, reject, run
 * outside), with the rules and override the rollout then carries, frozen, in its input.
 */
export async function admitChangeControl(
  deps: ChangeControlDeps,
  app: AppRef,
  policyRules: ChangeControlRules | undefined,
  override?: Override,
): Promise<AdmittedChangeControl> {
  const stops = await deps.stops.inForce(app);
  const verdict = admission(new Date(deps.now()), policyRules, deps.global, {
    stops,
    ...(override ? { override } : {}),
  });
  return {
    admission: verdict,
    ...(deps.global ? { global: deps.global } : {}),
    ...(override ? { override } : {}),
  };
}

/** The running rollouts a stop of this scope holds: every running one, or the app's own. */
export async function runningRolloutsIn(client: DurableClient, scope: StopScope): Promise<string[]> {
  const running = await client.getStatusBy({
    runtimeStatus: ['Running', 'Pending'] as never,
  });
  return running
    .filter((s) => s.name === Orchestrators.rollout)
    .filter((s) => {
      if (scope.kind === 'global') return true;
      const app = (s.customStatus as Partial<RolloutStatus> | undefined)?.app;
      return app !== undefined && stopAppKey(app) === scope.app;
    })
    .map((s) => s.instanceId);
}

/** Tells paused rollouts to look at change control again (a lifted stop, an override). */
export async function notifyChanged(
  client: DurableClient,
  rolloutIds: string[],
  data: { reason: string; override?: Override },
): Promise<void> {
  await Promise.all(rolloutIds.map((id) => raiseQuietly(client, id, Events.changeControlChanged, data)));
}

/** Aborts the rollouts (and their watches), as the abort API does, in one call. */
export async function abortAll(
  client: DurableClient,
  rolloutIds: string[],
  data: { by: string; reason: string },
): Promise<void> {
  await Promise.all(
    rolloutIds.flatMap((id) => [
      raiseQuietly(client, id, Events.abort, data),
      raiseQuietly(client, watchInstanceId(id), Events.abort, data),
    ]),
  );
}

export type { EmergencyStop };
