import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import type { RolloutPorts } from '../domain/ports';
import { Activities, Orchestrators } from '../names';
import type {
  ActivityHandler,
  ActivityHandlers,
  ActivityInput,
  ActivityInvocation,
  ActivityName,
} from './contract';
import { raiseQuietly, tryGetStatus } from '../services/admission';

const ended = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);
import { createActivities } from './index';

/** Activities that start orchestrations get the durable client as an extra input. */
const needsClient: ReadonlySet<ActivityName> = new Set([
  Activities.finishRollout,
  Activities.reportToRelease,
  Activities.signalMember,
  Activities.freeReleaseApps,
  Activities.holdReleaseApps,
]);

/**
 * Registers every activity with the Functions host. `ports` is called on the first invocation, not at
 * registration: the host loads the app before any configuration problem could be reported through a call.
 */
export function registerActivities(ports: () => RolloutPorts): void {
  let built: { ports: RolloutPorts; handlers: ActivityHandlers } | undefined;
  // Rebuilt when the composition root hands out new ports (after disposeServices): never on closed clients.
  const handlersNow = (): ActivityHandlers => {
    const current = ports();
    if (built?.ports !== current) built = { ports: current, handlers: createActivities(current) };
    return built.handlers;
  };
  for (const name of Object.values(Activities)) register(name, handlersNow);
}

function register<N extends ActivityName>(name: N, handlers: () => ActivityHandlers): void {
  df.app.activity(name, {
    ...(needsClient.has(name) ? { extraInputs: [df.input.durableClient()] } : {}),
    handler: (input: ActivityInput<N>, context: InvocationContext) => {
      const handler: ActivityHandler<N> = handlers()[name];
      return handler(input, invocationOf(context));
    },
  });
}

function invocationOf(context: InvocationContext): ActivityInvocation {
  return {
    startRollout: async (rolloutId, input) => {
      await df.getClient(context).startNew(Orchestrators.rollout, { instanceId: rolloutId, input });
    },
    raiseEvent: (instanceId, event, data) => raiseQuietly(df.getClient(context), instanceId, event, data),
    instanceRunning: async (instanceId) => {
      const status = await tryGetStatus(df.getClient(context), instanceId);
      return status !== undefined && !ended.has(String(status.runtimeStatus));
    },
    log: (line) => context.log(line),
  };
}
