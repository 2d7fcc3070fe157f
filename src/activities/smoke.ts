import type { RolloutPorts } from '../domain/ports';
import type { ActivityHandlers } from './contract';

export function smokeActivities(ports: RolloutPorts): Pick<ActivityHandlers, 'runSmokeChecks'> {
  return {
    runSmokeChecks: async (input) => {
      if (!input.fqdn) {
        return {
          passed: false,
          url: '',
          results: [{ name: 'endpoint', ok: false, message: 'green has no FQDN: enable ingress on the app' }],
        };
      }
      return ports.smoke.run(`${ports.revisionUrlScheme}://${input.fqdn}/`, input.checks, input.dependencies);
    },
  };
}
