import type { RolloutPorts } from '../domain/ports';
import { approvalActivities } from './approval';
import { changeControlActivities } from './changeControl';
import { auditActivities } from './audit';
import { containerAppsActivities } from './containerApps';
import type { ActivityHandlers } from './contract';
import { finishActivities } from './finish';
import { flagActivities } from './flags';
import { gateActivities } from './gates';
import { notifyActivities } from './notify';
import { releaseActivities } from './release';
import { smokeActivities } from './smoke';

export type { ActivityContract, ActivityHandlers, ActivityInvocation, ActivityName } from './contract';

/** Every activity, built from the ports it reaches the world through (real ones or in-memory ones). */
export function createActivities(ports: RolloutPorts): ActivityHandlers {
  return {
    ...containerAppsActivities(ports),
    ...smokeActivities(ports),
    ...gateActivities(ports),
    ...approvalActivities(ports),
    ...changeControlActivities(ports),
    ...finishActivities(ports),
    ...flagActivities(ports),
    ...auditActivities(ports),
    ...notifyActivities(ports),
    ...releaseActivities(ports),
  };
}
