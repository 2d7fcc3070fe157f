import * as df from 'durable-functions';
import { services } from '../composition';
import type { SmokeCheck } from '../domain/rollout/types';
import { Activities } from '../names';

df.app.activity(Activities.runSmokeChecks, {
  handler: async (input: {
    fqdn?: string;
    checks: SmokeCheck[];
    dependencies?: { path: string; expectStatus: number[] };
  }) => {
    const s = services();
    if (!input.fqdn) {
      return {
        passed: false,
        url: '',
        results: [{ name: 'endpoint', ok: false, message: 'green has no FQDN: enable ingress on the app' }],
      };
    }
    return s.smoke.run(`${s.config.revisionUrlScheme}://${input.fqdn}/`, input.checks, input.dependencies);
  },
});
