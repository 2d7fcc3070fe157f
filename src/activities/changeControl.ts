import type { RolloutPorts } from '../domain/ports';
import type { ActivityHandlers } from './contract';

type ChangeControlActivities = Pick<ActivityHandlers, 'emergencyStopsInForce' | 'setSessionAffinity'>;

/** The side effects change control and the guardrails need: reading stops, switching session affinity. */
export function changeControlActivities({
  emergencyStops,
  containerApps,
}: RolloutPorts): ChangeControlActivities {
  return {
    emergencyStopsInForce: (app) => emergencyStops.inForce(app),
    setSessionAffinity: (input) =>
      containerApps.setSessionAffinity(input.app, input.affinity, {
        ...(input.singleMode ? { singleMode: true } : {}),
      }),
  };
}
