// The Function App entrypoint: importing a module registers its functions with the host.
// Configuration is validated here, at start-up, so a misconfigured app fails with every problem listed.
import { registerActivities } from './activities/register';
import { registerGatherActivities } from './activities/releaseGather';
import { rolloutPorts } from './composition';
import { loadConfig } from './config';

loadConfig();
registerActivities(rolloutPorts);
registerGatherActivities();

import './orchestrators/rollout';
import './orchestrators/watch';
import './orchestrators/gateRun';
import './orchestrators/release';
import './orchestrators/releaseGather';
import './functions/rollouts';
import './functions/approvals';
import './functions/dashboard';
import './functions/imagePushed';
import './functions/changeControl';
import './functions/audit';
import './functions/releases';
