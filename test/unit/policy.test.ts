import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration, formatDuration } from '../../src/domain/duration';
import { errorCode } from '../../src/domain/errors';
import { findPoliciesForImage, findPolicyByApp, loadPolicies, parsePolicies } from '../../src/domain/policy';
import { planFromPolicy } from '../../src/services/rolloutRequest';

const minimal = `
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: web }
trigger: { repository: shop/web }
strategy: { type: traffic }
`;

function problemsOf(text: string): string[] {
  try {
    parsePolicies(text, 'p.yaml');
  } catch (e) {
    expect(errorCode(e)).toBe('InvalidPolicy');
    return (e as { details: { problems: string[] } }).details.problems;
  }
  throw new Error('policy was accepted');
}

describe('ISO 8601 durations', () => {
  it.each([
    ['PT10M', 600_000],
    ['PT0.5S', 500],
    ['P1D', 86_400_000],
    ['P1W', 604_800_000],
    ['P1DT2H3M4S', 93_784_000],
    ['pt30s', 30_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['10m', 'P1Y', 'P1M', 'PT', 'P', '', 'PT-5M', 'PT5', 'T5M'])('%s is refused', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );

  it('formats back to the shortest form', () => {
    expect(formatDuration(93_784_000)).toBe('P1DT2H3M4S');
    expect(formatDuration(500)).toBe('PT0.5S');
    expect(formatDuration(0)).toBe('PT0S');
  });
});

describe('loading policies', () => {
  it('fills defaults and converts durations to milliseconds', () => {
    const [p] = parsePolicies(minimal);
    expect(p).toMatchObject({
      name: 'web',
      concurrency: 'supersede',
      strategy: { type: 'traffic', steps: [100], stepPause: 0, recheckSmokeEachStep: true },
      validation: { readiness: { timeout: 600_000, pollInterval: 10_000 }, smoke: [] },
      approval: { required: false, timeout: 86_400_000, onTimeout: 'rollback' },
      bake: 0,
      watch: { duration: 0, interval: 60_000 },
      cleanup: { deactivateAfter: 0, keepRevisions: 2 },
      trigger: { repository: 'shop/web', tags: ['*'] },
    });
  });

  it('loads both shipped examples', async () => {
    const policies = await loadPolicies({ path: join(__dirname, '../../examples/policies') });
    expect(policies.map((p) => [p.name, p.strategy.type])).toEqual([
      ['web', 'traffic'],
      ['ingest-worker', 'flag'],
    ]);
    const web = policies[0]!;
    expect(web.validation.smoke[0]).toMatchObject({
      path: '/healthz',
      expectStatus: [200],
      latencyBudget: 500,
    });
    expect(web.approval).toMatchObject({ required: true, timeout: 86_400_000 });
  });

  it('accepts a list, a policies: wrapper, JSON and several YAML documents', () => {
    const json = JSON.stringify({
      policies: [
        {
          app: { subscriptionId: '11111111-2222-3333-4444-555555555555', resourceGroup: 'rg', name: 'app-a' },
          strategy: { type: 'traffic' },
        },
        {
          app: { subscriptionId: '11111111-2222-3333-4444-555555555555', resourceGroup: 'rg', name: 'app-b' },
          strategy: { type: 'traffic' },
        },
      ],
    });
    expect(parsePolicies(json).map((p) => p.name)).toEqual(['app-a', 'app-b']);
    const docs = `${minimal}\n---\n${minimal.replace('name: web', 'name: api')}`;
    expect(parsePolicies(docs).map((p) => p.name)).toEqual(['web', 'api']);
  });

  it('reads a folder and reports a missing path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gl-policies-'));
    try {
      await writeFile(join(dir, 'web.yaml'), minimal);
      await writeFile(join(dir, 'notes.txt'), 'ignored');
      expect((await loadPolicies({ path: dir })).map((p) => p.source)).toEqual([join(dir, 'web.yaml')]);
      await expect(loadPolicies({ path: join(dir, 'absent.yaml') })).rejects.toThrow(
        /absent\.yaml: cannot read/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('malformed policies are refused with every problem, field and fix named', () => {
  it('YAML syntax errors name the source', () => {
    expect(problemsOf('app: [unclosed')[0]).toMatch(/^p\.yaml: not valid YAML or JSON/);
  });

  it('an empty document holds no policy', () => {
    expect(problemsOf('')).toEqual(['p.yaml: holds no policy']);
  });

  it('missing app and strategy are both reported', () => {
    const problems = problemsOf('trigger: { repository: web }');
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^p\.yaml: app: /),
        expect.stringMatching(/^p\.yaml: strategy: /),
      ]),
    );
  });

  it('bad subscription id and app name', () => {
    const problems = problemsOf(
      minimal.replace('11111111-2222-3333-4444-555555555555', 'sub').replace('name: web', 'name: Web_App'),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('app.subscriptionId: must be a subscription GUID'),
        expect.stringContaining('app.name: must be a Container App name'),
      ]),
    );
  });

  it('an unknown field is a typo, not ignored', () => {
    expect(problemsOf(`${minimal}bakee: PT5M\n`).join('\n')).toMatch(/bakee/);
  });

  it('durations must be ISO 8601', () => {
    const problems = problemsOf(`${minimal}bake: 10m\nwatch: { duration: P1M }\n`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/bake: '10m' is not an ISO 8601 duration.*PT10M/),
        expect.stringMatching(/watch\.duration: 'P1M' is not an ISO 8601 duration/),
      ]),
    );
  });

  it.each([
    ['[50, 10, 100]', /steps must increase/],
    ['[10, 50]', /last step must be 100/],
    ['[0, 100]', /at least 1/],
    ['[10.5, 100]', /whole percentage/],
    ['[]', /at least one step/],
  ])('traffic steps %s are refused', (steps, message) => {
    const problems = problemsOf(minimal.replace('{ type: traffic }', `{ type: traffic, steps: ${steps} }`));
    expect(problems.join('\n')).toMatch(/strategy\.steps/);
    expect(problems.join('\n')).toMatch(message);
  });

  it('an unknown strategy type names the choices', () => {
    expect(problemsOf(minimal.replace('type: traffic', 'type: canary')).join('\n')).toMatch(
      /strategy\.type.*'traffic' or 'flag'|strategy: must have type 'traffic' or 'flag'/,
    );
  });

  it('flag strategy needs mock validation and Redis bindings', () => {
    const problems = problemsOf(minimal.replace('{ type: traffic }', '{ type: flag }'));
    expect(problems.join('\n')).toMatch(/strategy\.bindings/);
    const bound = problemsOf(
      minimal.replace(
        '{ type: traffic }',
        '{ type: flag, bindings: { prod: { urlSetting: PROD_REDIS_URL }, temp: { urlSetting: TEMP_REDIS_URL } } }',
      ),
    );
    expect(bound.join('\n')).toMatch(/validation\.mock: is required for strategy 'flag'/);
  });

  it('refuses zero poll intervals and deadlines', () => {
    const problems = problemsOf(
      `${minimal}validation: { readiness: { pollInterval: PT0S, timeout: PT0S } }\n`,
    );
    expect(problems.join('\n')).toMatch(/validation\.readiness\.pollInterval: must be longer than zero/);
    expect(problems.join('\n')).toMatch(/validation\.readiness\.timeout: must be longer than zero/);
  });

  it('mock validation belongs to the flag strategy only', () => {
    expect(problemsOf(`${minimal}validation: { mock: { minRecords: 5 } }\n`).join('\n')).toMatch(
      /validation\.mock: applies only to strategy 'flag'/,
    );
  });

  it('smoke checks need a path from the root and real status codes', () => {
    const problems = problemsOf(`${minimal}validation: { smoke: [{ path: healthz, expectStatus: 999 }] }\n`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('validation.smoke.0.path'),
        expect.stringContaining('validation.smoke.0.expectStatus'),
      ]),
    );
  });

  it('approval timeout action and concurrency are enumerations', () => {
    const problems = problemsOf(`${minimal}approval: { onTimeout: wait }\nconcurrency: parallel\n`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining("approval.onTimeout: must be 'rollback' or 'promote'"),
        expect.stringContaining("concurrency: must be 'supersede', 'queue' or 'reject'"),
      ]),
    );
  });

  it('gates need a known provider and a condition, and unique names', () => {
    const gates = `gates:
  - { name: e, provider: datadog, query: q, successCondition: 'result < 1' }
  - { name: e, provider: prometheus, query: q, successCondition: '' }
`;
    const problems = problemsOf(`${minimal}${gates}`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('gates.0.provider: must be one of azureMonitorMetrics'),
        expect.stringContaining('gates.1.successCondition'),
      ]),
    );
    const gate =
      "provider: prometheus, address: 'http://prometheus:9090', query: 'up{revision={{revision}}}'";
    const dup = `gates:
  - { name: e, ${gate}, successCondition: 'result < 1' }
  - { name: e, ${gate}, successCondition: 'result < 2' }
`;
    expect(problemsOf(`${minimal}${dup}`)).toEqual([
      expect.stringContaining("gates.1.name: duplicate gate name 'e'"),
    ]);
  });

  describe('gates are checked when the policy loads, naming the field', () => {
    const logs =
      "provider: logAnalytics, workspaceId: 11111111-2222-3333-4444-555555555555, query: 'T | where RevisionName_s == {{revision}}'";
    const gateProblems = (fields: string) => problemsOf(`${minimal}gates:\n  - { name: g, ${fields} }\n`);

    it('leaves the watch out of a baseline gate’s default phases, and keeps pausing gates before promotion', () => {
      const [p] = parsePolicies(
        `${minimal}gates:\n  - { name: a, ${logs}, successCondition: 'result <= baseline' }\n  - { name: b, ${logs}, successCondition: 'result < 1' }\n  - { name: c, ${logs}, successCondition: 'result < 1', onInconclusive: pause }\n`,
      );
      expect(p!.gates.map((g) => [g.name, g.phases])).toEqual([
        ['a', ['prePromotion', 'eachStep']],
        ['b', ['prePromotion', 'eachStep', 'watch']],
        ['c', ['prePromotion']],
      ]);
    });

    it.each([
      [
        'a baseline comparison in the watch, where blue serves nothing',
        `${logs}, successCondition: 'result <= baseline * 1.2', phases: [prePromotion, watch]`,
        "gates.0.phases: a condition that compares with baseline cannot run in the 'watch' phase",
      ],
      [
        'a pause after promotion has begun',
        `${logs}, successCondition: 'result < 1', onInconclusive: pause, phases: [prePromotion, eachStep]`,
        "gates.0.onInconclusive: 'pause' waits for an approval before promotion",
      ],
      [
        'an aggregation on a provider that has none',
        `${logs}, successCondition: 'result < 1', aggregation: Average`,
        'gates.0.aggregation',
      ],
      [
        'an unknown name in a condition',
        `${logs}, successCondition: 'latency < 1'`,
        'gates.0.successCondition: at 1: unknown name `latency`; a condition may use `result`, `baseline`, `sampleSize` and the helpers `isNaN(x)`, `isInf(x)`, `default(x, value)`',
      ],
      [
        'a trailing operator',
        `${logs}, successCondition: 'result <= 0.01', failureCondition: 'result >'`,
        'gates.0.failureCondition: at 9: expected a number, `result`, `baseline`, `sampleSize`, a helper call or `(`, found the end',
      ],
      [
        'a condition that is a number',
        `${logs}, successCondition: 'result * 2'`,
        'gates.0.successCondition: at 1: `result * 2` is a number, but a condition must be true or false',
      ],
      [
        'KQL that is not per revision',
        "provider: logAnalytics, workspaceId: 11111111-2222-3333-4444-555555555555, query: 'AppRequests | count', successCondition: 'result < 1'",
        'gates.0.query: must mention {{revision}}: without it the KQL measures every revision alike',
      ],
      [
        'a quoted placeholder',
        "provider: logAnalytics, workspaceId: 11111111-2222-3333-4444-555555555555, query: \"T | where RevisionName_s == '{{revision}}'\", successCondition: 'result < 1'",
        'gates.0.query: write {{revision}} without quotes around it',
      ],
      [
        'logAnalytics without a workspace',
        "provider: logAnalytics, query: 'T | where RevisionName_s == {{revision}}', successCondition: 'result < 1'",
        'gates.0.workspaceId: is required for provider logAnalytics',
      ],
      [
        'prometheus without an address',
        "provider: prometheus, query: 'up{revision={{revision}}}', successCondition: 'result < 1'",
        'gates.0.address: is required for provider prometheus',
      ],
      [
        'httpJson without a JSON path',
        "provider: httpJson, query: 'https://stats.contoso.com/{{revision}}', successCondition: 'result < 1'",
        'gates.0.jsonPath: is required for provider httpJson',
      ],
      [
        'an unknown metric',
        "provider: azureMonitorMetrics, query: ErrorRate, successCondition: 'result < 1'",
        'gates.0.query: must be a Container Apps metric, one of Requests',
      ],
      [
        'an unknown placeholder',
        "provider: prometheus, address: 'http://prometheus:9090', query: 'up{revision={{revision}},svc={{args.svc}}}', successCondition: 'result < 1'",
        'gates.0.query: unknown placeholder {{args.svc}}; use {{revision}} or {{app}}',
      ],
      [
        'a zero interval',
        `${logs}, successCondition: 'result < 1', interval: PT0S`,
        'gates.0.interval: must be longer than zero',
      ],
      [
        'a count of zero',
        `${logs}, successCondition: 'result < 1', count: 0`,
        'gates.0.count: must be at least 1',
      ],
      [
        'a failureLimit the gate can never exceed',
        `${logs}, successCondition: 'result < 1', count: 3, failureLimit: 3`,
        'gates.0.failureLimit: must be less than count (3), or the gate could never fail',
      ],
      [
        'a minimum sample with no sample size',
        `${logs}, successCondition: 'result < 1', minSampleSize: 100`,
        'gates.0.sampleSize: is required when minSampleSize or a condition uses the sample size',
      ],
      [
        'an unknown inconclusive action',
        `${logs}, successCondition: 'result < 1', onInconclusive: wait`,
        "gates.0.onInconclusive: must be 'fail', 'pass' or 'pause'",
      ],
    ])('refuses %s', (_, fields, problem) => {
      expect(gateProblems(fields)).toEqual([expect.stringContaining(`p.yaml: ${problem}`)]);
    });

    it('names every problem of a gate in one pass', () => {
      const problems = gateProblems(
        "provider: prometheus, query: 'up', successCondition: 'result <', onInconclusive: wait",
      );
      expect(problems.map((p) => p.replace(/^p\.yaml: (gates\.0\.\w+):.*$/, '$1')).sort()).toEqual([
        'gates.0.address',
        'gates.0.onInconclusive',
        'gates.0.query',
        'gates.0.successCondition',
      ]);
    });

    it('loads a well-formed gate with its query fields, failing on inconclusive by default', () => {
      const [p] = parsePolicies(`${minimal}gates:
  - name: error-rate
    provider: azureMonitorMetrics
    query: Requests
    aggregation: Total
    filter: "statusCodeCategory eq '5xx'"
    ratioTo: ''
    successCondition: result <= baseline * 1.2 or result < 0.001
    failureCondition: result > 0.05
    minSampleSize: 200
    count: 3
    failureLimit: 1
`);
      expect(p!.gates[0]).toMatchObject({
        query: 'Requests',
        aggregation: 'Total',
        filter: "statusCodeCategory eq '5xx'",
        ratioTo: '',
        interval: 60_000,
        onInconclusive: 'fail',
      });
      expect(planFromPolicy(p!).gates[0]).toMatchObject({
        provider: 'azureMonitorMetrics',
        filter: "statusCodeCategory eq '5xx'",
        ratioTo: '',
        intervalMs: 60_000,
        minSampleSize: 200,
        onInconclusive: 'fail',
      });
    });
  });

  it('watch interval longer than the watch is refused', () => {
    expect(problemsOf(`${minimal}watch: { duration: PT1M, interval: PT5M }\n`).join('\n')).toMatch(
      /watch\.interval: must not be longer than watch\.duration/,
    );
  });

  it('two policies for one app, or with one name, are refused', () => {
    const problems = problemsOf(`${minimal}\n---\n${minimal}`);
    expect(problems.join('\n')).toMatch(/'web' is also the name of the policy/);
    expect(problems.join('\n')).toMatch(/already targeted by policy 'web'/);
  });

  it('lists problems of several policies in one error', () => {
    const problems = problemsOf(
      `${minimal}bake: soon\n---\n${minimal.replace('name: web', 'name: api')}concurrency: x\n`,
    );
    expect(problems.some((p) => p.startsWith('p.yaml#1: bake'))).toBe(true);
    expect(problems.some((p) => p.startsWith('p.yaml#2: concurrency'))).toBe(true);
  });
});

describe('matching', () => {
  const policies = parsePolicies(`
policies:
  - app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: web }
    trigger: { registry: contoso.azurecr.io, repository: shop/web, tags: ['v*', '!*-rc*'] }
    strategy: { type: traffic }
  - app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-b, name: worker }
    trigger: { repository: 'ingest/*' }
    strategy: { type: traffic }
  - name: manual
    app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-c, name: web }
    strategy: { type: traffic }
`);
  const names = (image: Parameters<typeof findPoliciesForImage>[1]) =>
    findPoliciesForImage(policies, image).map((p) => p.name);

  it('matches registry, repository glob and tag globs with exclusions', () => {
    expect(names({ registry: 'CONTOSO.azurecr.io', repository: 'shop/web', tag: 'v1.2.0' })).toEqual(['web']);
    expect(names({ registry: 'contoso.azurecr.io', repository: 'shop/web', tag: 'v1.3.0-rc1' })).toEqual([]);
    expect(names({ registry: 'contoso.azurecr.io', repository: 'shop/web', tag: 'latest' })).toEqual([]);
    expect(names({ registry: 'other.azurecr.io', repository: 'shop/web', tag: 'v1' })).toEqual([]);
    expect(names({ registry: 'x.azurecr.io', repository: 'ingest/tcp', tag: 'anything' })).toEqual([
      'worker',
    ]);
    expect(names({ registry: 'x.azurecr.io', repository: 'ingest/tcp/deep', tag: 'a' })).toEqual([]);
    expect(names({ registry: 'x.azurecr.io', repository: 'ingest/tcp' })).toEqual(['worker']);
    expect(names({ registry: 'contoso.azurecr.io', repository: 'shop/web' })).toEqual([]);
  });

  it('finds a policy by name, by resource path, or by an unambiguous app name', () => {
    expect(findPolicyByApp(policies, 'manual')?.name).toBe('manual');
    expect(findPolicyByApp(policies, '11111111-2222-3333-4444-555555555555/rg-c/web')?.name).toBe('manual');
    expect(findPolicyByApp(policies, 'web')?.name).toBe('web');
    expect(findPolicyByApp(policies, 'worker')?.app.resourceGroup).toBe('rg-b');
    expect(findPolicyByApp(policies, 'nope')).toBeUndefined();
  });
});
