import { parsePolicies } from '../../src/domain/policy';
import { planFromPolicy } from '../../src/services/rolloutRequest';

const app = `
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: web }
trigger: { repository: shop/web }
strategy: { type: traffic }
watch: { duration: PT30M, interval: PT1M }
`;

describe('a gate’s timing and judging settings reach the plan', () => {
  it('maps errorInterval, initialDelay, dryRun, consecutiveSuccessLimit and accumulate', () => {
    const [p] = parsePolicies(
      `${app}gates:
  - name: p99
    provider: prometheus
    address: http://prometheus.test
    query: 'histogram_quantile(0.99, rate(latency_bucket{revision={{revision}}}[1m]))'
    successCondition: result < 0.5
    interval: PT5M
    errorInterval: PT15S
    initialDelay: PT2M
    count: 5
    consecutiveSuccessLimit: 3
    dryRun: true
    accumulate: false
    phases: [watch]
`,
      'p.yaml',
    );
    expect(planFromPolicy(p!).gates[0]).toMatchObject({
      intervalMs: 300_000,
      errorIntervalMs: 15_000,
      initialDelayMs: 120_000,
      consecutiveSuccessLimit: 3,
      dryRun: true,
      accumulate: false,
    });
  });

  it('leaves the defaults out of the plan, but the error interval (Argo’s 10 s)', () => {
    const [p] = parsePolicies(
      `${app}gates:
  - name: up
    provider: prometheus
    address: http://prometheus.test
    query: 'up{revision={{revision}}}'
    successCondition: result >= 1
`,
      'p.yaml',
    );
    const gate = planFromPolicy(p!).gates[0]!;
    expect(gate.errorIntervalMs).toBe(10_000);
    for (const field of ['initialDelayMs', 'consecutiveSuccessLimit', 'dryRun', 'accumulate'] as const) {
      expect(gate).not.toHaveProperty(field);
    }
  });
});
