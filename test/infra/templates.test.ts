import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  apiVersionProblems,
  entries,
  loadTemplates,
  moduleLoader,
  moduleProblems,
  symbolProblems,
  type BicepFile,
  type Statement,
} from './bicep';

const root = join(__dirname, '..', '..');
const infra = join(root, 'infra');
const templates = loadTemplates(infra);
const main = templates.get('main.bicep')!;
const all = [...templates.values()];

function template(rel: string): BicepFile {
  const f = templates.get(rel);
  if (!f) throw new Error(`infra/${rel} is missing`);
  return f;
}

/**
 * One API version per resource type: the newest stable (non-preview) version that documents every
 * property the templates set. Changing one is a deliberate edit here, checked against the resource's
 * template reference.
 */
const allowedApiVersions: Record<string, string> = {
  'Microsoft.Resources/resourceGroups': '2024-03-01',
  'Microsoft.ManagedIdentity/userAssignedIdentities': '2024-11-30',
  'Microsoft.OperationalInsights/workspaces': '2025-02-01',
  'Microsoft.Insights/components': '2020-02-02',
  'Microsoft.Storage/storageAccounts': '2025-01-01',
  'Microsoft.Storage/storageAccounts/blobServices': '2025-01-01',
  'Microsoft.Storage/storageAccounts/blobServices/containers': '2025-01-01',
  'Microsoft.KeyVault/vaults': '2024-11-01',
  'Microsoft.KeyVault/vaults/secrets': '2024-11-01',
  // 2025-07-01: first stable version with the NoCluster clustering policy.
  'Microsoft.Cache/redisEnterprise': '2025-07-01',
  'Microsoft.Cache/redisEnterprise/databases': '2025-07-01',
  // Flex Consumption's functionAppConfig is in every stable version since 2023-12-01.
  'Microsoft.Web/serverfarms': '2024-11-01',
  'Microsoft.Web/sites': '2024-11-01',
  'Microsoft.Web/sites/config': '2024-11-01',
  'Microsoft.Web/sites/basicPublishingCredentialsPolicies': '2024-11-01',
  'Microsoft.Authorization/roleAssignments': '2022-04-01',
  'Microsoft.ContainerRegistry/registries': '2025-04-01',
  'Microsoft.EventGrid/systemTopics': '2025-02-15',
  'Microsoft.EventGrid/systemTopics/eventSubscriptions': '2025-02-15',
};

describe('infra templates', () => {
  it('are all readable, and every name they read is declared and every param and var is read', () => {
    expect(templates.size).toBeGreaterThanOrEqual(12);
    const problems = all.flatMap((f) => [...f.problems.map((p) => `${f.path}: ${p}`), ...symbolProblems(f)]);
    expect(problems).toEqual([]);
  });

  it('use only allowed, stable API versions', () => {
    expect(all.flatMap((f) => apiVersionProblems(f, allowedApiVersions))).toEqual([]);
    expect(Object.values(allowedApiVersions).filter((v) => v.includes('preview'))).toEqual([]);
  });

  it('pass modules exactly the params they declare, and every module path exists', () => {
    expect(all.flatMap((f) => moduleProblems(f, moduleLoader(infra, templates, f)))).toEqual([]);
    // Every module file is used: a template no module references is dead code nobody checks in Azure.
    const used = new Set(main.modules.map((m) => m.path));
    const unused = [...templates.keys()].filter((rel) => rel !== 'main.bicep' && !used.has(rel));
    expect(unused).toEqual([]);
  });

  it('map each main.parameters.json entry to a declared param; required params are mapped or generated', () => {
    const file = JSON.parse(readFileSync(join(infra, 'main.parameters.json'), 'utf8')) as {
      parameters: Record<string, { value: string }>;
    };
    const mapped = Object.keys(file.parameters);
    const declared = new Map(main.params.map((p) => [p.name, p]));
    expect(mapped.filter((m) => !declared.has(m))).toEqual([]);
    const unset = main.params.filter(
      (p) =>
        !p.hasDefault && !mapped.includes(p.name) && !p.decorators.some((d) => /type: 'generate'/.test(d)),
    );
    expect(unset.map((p) => p.name)).toEqual([]);
    // A `${VAR=default}` default must agree with the template's, or azd and a plain deployment differ.
    for (const [name, { value }] of Object.entries(file.parameters)) {
      const fallback = /^\$\{[A-Z0-9_]+=(.*)\}$/.exec(value)?.[1];
      if (fallback === undefined) continue;
      const defaultText = declared.get(name)!.text.split('=').slice(1).join('=').trim();
      expect([name, defaultText.replace(/^'(.*)'$/, '$1')]).toEqual([name, fallback]);
    }
    // Secure params are never written in the parameters file; they come from azd's environment or generation.
    for (const p of main.params.filter((x) => x.secure)) {
      expect([p.name, file.parameters[p.name]?.value ?? '${…}']).toEqual([
        p.name,
        expect.stringMatching(/^\$\{/),
      ]);
    }
  });

  it('document every main.bicep param and its azd variable in infra/README.md', () => {
    const readme = readFileSync(join(infra, 'README.md'), 'utf8');
    const params = JSON.parse(readFileSync(join(infra, 'main.parameters.json'), 'utf8')) as {
      parameters: Record<string, { value: string }>;
    };
    const missing = main.params
      .filter((p) => {
        const row = readme.split('\n').find((l) => l.startsWith(`| \`${p.name}\``));
        const variable = /^\$\{([A-Z0-9_]+)/.exec(params.parameters[p.name]?.value ?? '')?.[1];
        return !row || (variable !== undefined && !row.includes(`\`${variable}\``));
      })
      .map((p) => p.name);
    expect(missing).toEqual([]);
  });

  it('are what azure.yaml provisions, and its function service is the site azd deploys to', () => {
    const azd = parseYaml(readFileSync(join(root, 'azure.yaml'), 'utf8')) as {
      infra: { provider: string; path: string; module: string };
      services: Record<string, { project: string; language: string; host: string }>;
      hooks?: Record<string, Record<string, { run: string }>>;
    };
    expect(azd.infra).toEqual({ provider: 'bicep', path: 'infra', module: 'main' });
    const [serviceName, service] = Object.entries(azd.services)[0]!;
    expect(Object.keys(azd.services)).toHaveLength(1);
    expect(service).toMatchObject({
      project: '.',
      host: 'function',
      language: expect.stringMatching(/^(ts|js)$/),
    });
    // The project's package.json must name the built entrypoint the Functions host loads.
    const pkg = JSON.parse(readFileSync(join(root, service.project, 'package.json'), 'utf8')) as {
      main: string;
      scripts: Record<string, string>;
    };
    expect(pkg.main).toMatch(/^dist\/.+\.js$/);
    expect(pkg.scripts.build).toBeDefined();
    // azd finds the deployment target by the azd-service-name tag.
    const app = main.modules.find((m) => m.path === 'modules/functionApp.bicep')!;
    expect(app.text).toContain(`'azd-service-name': '${serviceName}'`);
    const site = template('modules/functionApp.bicep').resources.find(
      (r) => r.type === 'Microsoft.Web/sites',
    )!;
    expect(site.text).toMatch(/tags: tags/);
    // Hook scripts exist (and the POSIX one is executable).
    const runs = Object.values(azd.hooks ?? {}).flatMap((h) => Object.values(h).map((x) => x.run));
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) expect([run, existsSync(join(root, run))]).toEqual([run, true]);
    const sh = runs.find((r) => r.endsWith('.sh'))!;
    expect(statSync(join(root, sh)).mode & 0o111).not.toBe(0);
  });

  it('hold no keys or connection strings: storage by identity only, secrets only in Key Vault', () => {
    for (const f of all) {
      expect([
        f.path,
        /AccountKey=|DefaultEndpointsProtocol=|SharedAccessSignature|InstrumentationKey=/i.test(f.text),
      ]).toEqual([f.path, false]);
      // listKeys is allowed only on the Redis database, and only to write the Key Vault secret.
      const storageSymbols = f.resources
        .filter((r) => r.type.startsWith('Microsoft.Storage/'))
        .map((r) => r.name);
      for (const s of storageSymbols)
        expect(f.text).not.toMatch(new RegExp(`\\b${s}\\.listKeys\\(|listKeys\\(${s}\\b`));
      for (const o of f.outputs)
        expect([f.path, o.name, /listKeys|listSecrets|secret/i.test(o.text)]).toEqual([
          f.path,
          o.name,
          false,
        ]);
      // A secure param may only become a Key Vault secret's value or a secure param of a module.
      for (const p of f.params.filter((x) => x.secure)) {
        const reads = (s: Statement) =>
          s.tokens.some((t, i) => t.kind === 'ident' && t.value === p.name && s.tokens[i - 1]?.value !== '.');
        for (const r of f.resources.filter(reads)) {
          expect([f.path, p.name, r.type]).toEqual([f.path, p.name, 'Microsoft.KeyVault/vaults/secrets']);
        }
        for (const m of f.modules.filter(reads)) {
          const target = moduleLoader(infra, templates, f)(m.path)!;
          const passedAs = entries(f, m)
            .filter((e) => m.params.includes(e.key) && new RegExp(`\\b${p.name}\\b`).test(e.value))
            .map((e) => e.key);
          expect(passedAs.length).toBeGreaterThan(0);
          for (const name of passedAs) {
            expect([f.path, name, target.params.find((x) => x.name === name)?.secure]).toEqual([
              f.path,
              name,
              true,
            ]);
          }
        }
        expect(
          [...f.vars, ...f.outputs].filter(reads).map((s) => `${f.path}: ${s.keyword} ${s.name}`),
        ).toEqual([]);
      }
    }
    const storage = template('modules/storage.bicep').resources.find(
      (r) => r.type === 'Microsoft.Storage/storageAccounts',
    )!;
    expect(storage.text).toMatch(/allowSharedKeyAccess: false/);
    const vault = template('modules/keyVault.bicep').resources.find(
      (r) => r.type === 'Microsoft.KeyVault/vaults',
    )!;
    expect(vault.text).toMatch(/enableRbacAuthorization: true/);
    const insights = template('modules/monitoring.bicep').resources.find(
      (r) => r.type === 'Microsoft.Insights/components',
    )!;
    expect(insights.text).toMatch(/DisableLocalAuth: true/);
  });

  it('run the Function App on Flex Consumption with the user-assigned identity everywhere', () => {
    const f = template('modules/functionApp.bicep');
    const plan = f.resources.find((r) => r.type === 'Microsoft.Web/serverfarms')!;
    expect(plan.text).toMatch(/name: 'FC1'/);
    expect(plan.text).toMatch(/tier: 'FlexConsumption'/);
    const site = f.resources.find((r) => r.type === 'Microsoft.Web/sites')!;
    expect(site.text).toMatch(/type: 'UserAssigned'/);
    expect(site.text).toMatch(/keyVaultReferenceIdentity: identityId/);
    expect(site.text).toMatch(/runtime: \{\s*name: 'node'/);
    expect(site.text).toMatch(/type: 'UserAssignedIdentity'\s*userAssignedIdentityResourceId: identityId/);
    // Flex Consumption rejects these: the runtime is in functionAppConfig, the package in its blob container.
    expect(f.text).not.toMatch(
      /FUNCTIONS_WORKER_RUNTIME|FUNCTIONS_EXTENSION_VERSION|WEBSITE_RUN_FROM_PACKAGE|WEBSITE_NODE_DEFAULT_VERSION/,
    );
    // Node versions on offer are ones package.json's engines allow.
    const nodeVersion = main.params.find((p) => p.name === 'nodeVersion')!;
    const offered = /@allowed\(\[(.*)\]\)/
      .exec(nodeVersion.decorators.join(' '))![1]!
      .match(/\d+/g)!
      .map(Number);
    const engines = (
      JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }
    ).engines.node;
    const minimum = Number(/>=\s*(\d+)/.exec(engines)![1]);
    expect(offered.filter((v) => v < minimum)).toEqual([]);
  });

  it('deliver ImagePushed for the chosen repositories to a function, with retries and a dead-letter container', () => {
    const sub = template('modules/registrySubscription.bicep').resources.find(
      (r) => r.type === 'Microsoft.EventGrid/systemTopics/eventSubscriptions',
    )!;
    expect(sub.text).toMatch(/endpointType: 'AzureFunction'/);
    expect(sub.text).toMatch(/resourceId: functionResourceId/);
    expect(sub.text).toMatch(/includedEventTypes: \['Microsoft\.ContainerRegistry\.ImagePushed'\]/);
    expect(sub.text).toMatch(
      /operatorType: 'StringBeginsWith'\s*key: 'data\.target\.repository'\s*values: repositoryPrefixes/,
    );
    expect(sub.text).toMatch(/retryPolicy: \{\s*maxDeliveryAttempts: 30\s*eventTimeToLiveInMinutes: 1440/);
    expect(sub.text).toMatch(/deadLetterWithResourceIdentity: \{\s*identity: \{\s*type: 'SystemAssigned'/);
    expect(sub.text).toMatch(/endpointType: 'StorageBlob'/);
    const topic = template('modules/registryTopic.bicep').resources.find(
      (r) => r.type === 'Microsoft.EventGrid/systemTopics',
    )!;
    expect(topic.text).toMatch(/topicType: 'Microsoft\.ContainerRegistry\.Registries'/);
    expect(topic.text).toMatch(/type: 'SystemAssigned'/);
    // The dead-letter container the subscription names is the one storage creates and the topic may write.
    const passes = (module: string, param: string) =>
      entries(
        main,
        main.modules.find((m) => m.path === module)!,
      ).find((e) => e.key === param)?.value;
    expect(passes('modules/storage.bicep', 'deadLetterContainerName')).toBe('deadLetterContainerName');
    expect(passes('modules/deadLetterAccess.bicep', 'containerName')).toBe('deadLetterContainerName');
    expect(passes('modules/registrySubscription.bicep', 'deadLetterContainerName')).toBe(
      'deadLetterContainerName',
    );
    expect(passes('modules/deadLetterAccess.bicep', 'principalId')).toBe('registryTopic.outputs.principalId');
    // The subscription waits for the topic identity's write access.
    expect(main.modules.find((m) => m.name === 'registrySubscription')!.text).toMatch(
      /dependsOn: \[deadLetterAccess\]/,
    );
    // Comma-separated prefixes are trimmed and empties dropped before they reach the filter.
    expect(main.vars.find((v) => v.name === 'prefixes')!.text).toMatch(/split\(repositoryPrefixes, ','\)/);
  });
});
