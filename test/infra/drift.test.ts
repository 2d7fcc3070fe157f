import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { capturedFunctions, type CapturedFunction } from '../../local/runtime/functionsCore';
import { processEnvReads, zodObjectKeys } from './appSettings';
import { entries, loadTemplates } from './bicep';

// What the code expects of its host, against what the templates give it. Each check fails when either
// side changes alone: a new setting nobody deploys, a renamed function the subscription still targets.

const root = join(__dirname, '..', '..');
const templates = loadTemplates(join(root, 'infra'));
const functionApp = templates.get('modules/functionApp.bicep')!;
const main = templates.get('main.bicep')!;
const configKeys = zodObjectKeys(readFileSync(join(root, 'src', 'config.ts'), 'utf8'), 'settingsSchema');
const hostJson = readFileSync(join(root, 'host.json'), 'utf8');
const infraReadme = readFileSync(join(root, 'infra', 'README.md'), 'utf8');

/**
 * App settings the code reads that the template leaves unset, and why. infra/README.md ("App settings left
 * to their defaults") lists the same names.
 */
const leftToDefaults: Record<string, string> = {
  GREENLIGHT_REDIS_KEY_PREFIX: 'default greenlight:',
  WEBSITE_HOSTNAME: 'set by the platform',
  GREENLIGHT_ARM_ENDPOINT: 'default https://management.azure.com',
  GREENLIGHT_ARM_CA_FILE: 'local emulator only',
  GREENLIGHT_ARM_MAX_RETRIES: 'default 4',
  GREENLIGHT_ARM_RETRY_DELAY_MS: 'default 800',
  GREENLIGHT_ARM_POLL_INTERVAL_MS: 'default 2000',
  GREENLIGHT_CREDENTIAL: 'default: managed identity',
  GREENLIGHT_STATIC_TOKEN: 'local emulator only',
  GREENLIGHT_REVISION_URL_SCHEME: 'default https',
  GREENLIGHT_MONITOR_METRICS_ENDPOINT: "unset: metric gates need the apps' region endpoint",
  GREENLIGHT_MONITOR_LOGS_ENDPOINT: 'default https://api.loganalytics.io/v1',
  GREENLIGHT_MONITOR_CA_FILE: 'only for the local monitoring emulators',
  GREENLIGHT_AUDIT_MAX_ENTRIES_PER_APP: 'default 10000',
  GREENLIGHT_AUDIT_RETENTION_DAYS: 'unset: bounded by count only',
  GREENLIGHT_CHANGE_CONTROL_PATH: 'unset: no global deploy windows or freezes',
  GREENLIGHT_CHANGE_CONTROL: 'unset: no global deploy windows or freezes',
};

/** Settings the Functions host and its telemetry read (not the app). */
const hostReadSettings = [
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
];

/** Every app setting the template gives the Function App, with the value expression of each. */
function templateSettings(): Map<string, string> {
  const applied = functionApp.resources.find((r) => r.type === 'Microsoft.Web/sites/config')!;
  const vars = functionApp.vars.filter((v) => v.name.endsWith('Settings'));
  // Every settings var reaches the appsettings resource.
  for (const v of vars) expect([v.name, applied.text.includes(v.name)]).toEqual([v.name, true]);
  return new Map(
    vars.flatMap((v) => entries(functionApp, v).map((e) => [e.key, e.value] as [string, string])),
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function loadApp(): CapturedFunction[] {
  const settings: Record<string, string> = {
    GREENLIGHT_POLICIES_PATH: join(root, 'examples', 'policies'),
    GREENLIGHT_REDIS_URL: 'redis://127.0.0.1:6379',
    GREENLIGHT_APPROVAL_SIGNING_KEY: 'k'.repeat(32),
  };
  const added = Object.keys(settings).filter((k) => process.env[k] === undefined);
  Object.assign(process.env, settings);
  try {
    // The production entrypoint, registering through the local runtime's @azure/functions-core (jest.config.js).
    require('../../src/index');
  } finally {
    for (const k of added) delete process.env[k];
  }
  return capturedFunctions();
}

describe('settings schema reader', () => {
  it('reads top-level keys only, through regexes, strings, comments and nested objects', () => {
    const src = `const s = z.object({
  A: z.string().regex(/^[{'"]/, 'a { brace'),
  // B: not a key
  B: z.object({ INNER: z.string() }).optional(),
  C: z.coerce.number().int().default(4),
  D: z.enum(['x', 'y']),
});`;
    expect(zodObjectKeys(src, 's')).toEqual([
      { name: 'A', required: true },
      { name: 'B', required: false },
      { name: 'C', required: false },
      { name: 'D', required: true },
    ]);
    expect(() => zodObjectKeys(src, 'missing')).toThrow(/no 'missing = z.object/);
  });
});

describe('app settings', () => {
  const set = templateSettings();

  it('the code reads are each set by the template or left to a documented default', () => {
    expect(configKeys.length).toBeGreaterThanOrEqual(15);
    const names = configKeys.map((k) => k.name);
    expect(names.filter((n) => !set.has(n) && !(n in leftToDefaults))).toEqual([]);
    expect(Object.keys(leftToDefaults).filter((n) => !names.includes(n))).toEqual([]);
    expect(Object.keys(leftToDefaults).filter((n) => set.has(n))).toEqual([]);
    // What the app cannot start without is set unconditionally, not only when a parameter is given.
    const always = new Set(
      functionApp.vars
        .filter((v) => ['hostSettings', 'secretSettings'].includes(v.name))
        .flatMap((v) => entries(functionApp, v).map((e) => e.key)),
    );
    expect(configKeys.filter((k) => k.required && !always.has(k.name)).map((k) => k.name)).toEqual([]);
    expect(configKeys.filter((k) => k.required && k.name in leftToDefaults).map((k) => k.name)).toEqual([]);
  });

  it('left to their defaults are the ones infra/README.md lists', () => {
    const section = infraReadme.split('## App settings left to their defaults')[1]!.split('\n## ')[0]!;
    const listed = [...section.matchAll(/^\| `([A-Z0-9_]+)`/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(Object.keys(leftToDefaults).sort());
  });

  it('the template sets are all read by the app, the host, or host.json', () => {
    const hostRefs = [...hostJson.matchAll(/%([A-Za-z0-9_]+)%/g)].map((m) => m[1]!);
    const read = new Set([...configKeys.map((k) => k.name), ...hostReadSettings, ...hostRefs]);
    const identityConnection = /^AzureWebJobsStorage__(accountName|credential|clientId)$/;
    expect([...set.keys()].filter((k) => !read.has(k) && !identityConnection.test(k))).toEqual([]);
  });

  it('read anywhere in src/ through process.env are known settings', () => {
    const known = new Set([...configKeys.map((k) => k.name), ...set.keys()]);
    // The CLI runs on an operator's machine, not in the Function App: its environment is its own.
    const cli = join(root, 'src', 'cli');
    const reads = sourceFiles(join(root, 'src'))
      .filter((f) => !f.startsWith(cli))
      .flatMap((f) =>
        processEnvReads(readFileSync(f, 'utf8')).map((name) => `${f.slice(root.length + 1)}: ${name}`),
      );
    expect(reads.filter((r) => !known.has(r.split(': ')[1]!))).toEqual([]);
  });

  it("host.json's %settings% are set, and its Durable Functions storage connects by identity", () => {
    for (const [, name] of hostJson.matchAll(/%([A-Za-z0-9_]+)%/g))
      expect([name, set.has(name!)]).toEqual([name, true]);
    const connection =
      /"(?:connectionStringName|connectionName)"\s*:\s*"([^"]+)"/.exec(hostJson)?.[1] ??
      'AzureWebJobsStorage';
    expect(set.get(`${connection}__accountName`)).toBeDefined();
    expect(set.get(`${connection}__credential`)).toBe("'managedidentity'");
    expect(set.get(`${connection}__clientId`)).toBe('identityClientId');
    expect(set.has(connection)).toBe(false);
    expect(set.get('AZURE_CLIENT_ID')).toBe('identityClientId');
  });

  it('that carry secrets are Key Vault references, never values', () => {
    const reference = /^'@Microsoft\.KeyVault\(SecretUri=\$\{keyVaultUri\}secrets\/\$\{\w+\}\)'$/;
    expect(set.get('GREENLIGHT_APPROVAL_SIGNING_KEY')).toMatch(reference);
    expect(set.get('GREENLIGHT_REDIS_URL')).toMatch(reference);
    // The settings flag policies name (bindings.*.urlSetting) hold Redis passwords too.
    const flag = functionApp.vars.find((v) => v.name === 'flagSettings')!;
    expect(flag.text).toMatch(
      /toObject\(flagRedisSettings, .*'@Microsoft\.KeyVault\(SecretUri=\$\{keyVaultUri\}secrets\//,
    );
    // Both secret names reach the vault and the app from one place.
    for (const secret of ['approvalSigningKeySecretName', 'redisUrlSecretName']) {
      const passedTo = main.modules.filter((m) =>
        entries(main, m).some((e) => e.key === secret && e.value === secret),
      );
      expect([secret, passedTo.map((m) => m.name).sort()]).toEqual([secret, ['app', 'keyVault']]);
    }
    expect(main.modules.find((m) => m.name === 'redis')!.text).toMatch(/secretName: redisUrlSecretName/);
  });
});

describe('functions', () => {
  const functions = loadApp();
  const byName = new Map(functions.map((f) => [f.name, f]));

  it('the ACR event subscription targets is registered as an Event Grid trigger', () => {
    const name = /^var imagePushedFunctionName = '([^']+)'$/m.exec(main.text)?.[1];
    const target = entries(
      main,
      main.modules.find((m) => m.name === 'registrySubscription')!,
    ).find((e) => e.key === 'functionResourceId')?.value;
    expect(target).toBe("'${app.outputs.id}/functions/${imagePushedFunctionName}'");
    expect(byName.get(name!)?.trigger.type).toBe('eventGridTrigger');
  });

  it('the README deploy walkthrough calls are registered HTTP routes', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.split('\n## Deploy to Azure')[1]?.split('\n## ')[0] ?? '';
    const calls = [...section.matchAll(/\b(GET|POST) \/api\/([\w{}/-]+)/g)].map(
      (m) => [m[1]!, m[2]!] as const,
    );
    expect(calls.length).toBeGreaterThanOrEqual(3);
    const routes = functions
      .filter((f) => f.trigger.type === 'httpTrigger')
      .map((f) => ({ route: String(f.trigger.route), methods: (f.trigger.methods as string[]) ?? [] }));
    const matches = (route: string, path: string) => {
      const r = route.split('/');
      const p = path.split('/');
      return r.length === p.length && r.every((seg, i) => seg === p[i] || /^\{\w+\}$/.test(seg));
    };
    for (const [method, path] of calls) {
      const found = routes.some((r) => r.methods.includes(method) && matches(r.route, path));
      expect([method, path, found]).toEqual([method, path, true]);
    }
  });
});

describe('local.settings.example.json', () => {
  it('sets what the app needs to start and nothing the app or host does not read', () => {
    const values = (
      JSON.parse(readFileSync(join(root, 'local.settings.example.json'), 'utf8')) as {
        Values: Record<string, string>;
      }
    ).Values;
    const hostRefs = [...hostJson.matchAll(/%([A-Za-z0-9_]+)%/g)].map((m) => m[1]!);
    // Core Tools' own settings.
    const coreTools = ['FUNCTIONS_WORKER_RUNTIME', 'AzureWebJobsStorage', 'AzureWebJobsFeatureFlags'];
    const read = new Set([...configKeys.map((k) => k.name), ...hostRefs, ...coreTools]);
    expect(Object.keys(values).filter((k) => !read.has(k))).toEqual([]);
    expect(configKeys.filter((k) => k.required && !values[k.name]).map((k) => k.name)).toEqual([]);
    expect(hostRefs.filter((k) => !values[k])).toEqual([]);
    expect(Boolean(values.GREENLIGHT_POLICIES_PATH ?? values.GREENLIGHT_POLICIES)).toBe(true);
  });
});
