import { smokeBaseUrl } from '../domain/guardrails/probe';
import type { RolloutPorts } from '../domain/ports';
import type { ActivityHandlers } from './contract';

export function smokeActivities(ports: RolloutPorts): Pick<ActivityHandlers, 'runSmokeChecks'> {
  return {
    runSmokeChecks: async ({ checks, dependencies, ...target }) => {
      const base = smokeBaseUrl(target, ports.revisionUrlScheme);
      if ('problem' in base) {
        return { passed: false, url: '', results: [{ name: 'endpoint', ok: false, message: base.problem }] };
      }
      return ports.smoke.run(base.url, checks, dependencies);
    },
  };
}
