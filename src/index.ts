// The Function App entrypoint: importing a module registers its functions with the host.
// Configuration is validated here, at start-up, so a misconfigured app fails with every problem listed.
import { loadConfig } from './config';

loadConfig();

import './orchestrators/rollout';
import './orchestrators/watch';
import './orchestrators/gateRun';
import './activities/containerApps';
import './activities/smoke';
import './activities/gates';
import './activities/approval';
import './activities/finish';
import './activities/flags';
import './functions/rollouts';
import './functions/approvals';
import './functions/imagePushed';
