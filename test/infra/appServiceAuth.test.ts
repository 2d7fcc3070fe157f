import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { capturedFunctions, type CapturedFunction } from '../../local/runtime/functionsCore';
import { entries, loadTemplates, type Statement } from './bicep';

// App Service authentication (enableAppServiceAuth): people sign in before the pages, while every route a
// program reaches with a key stays excluded. Checked against the routes the app registers, so a new
// key-protected route that sign-in would break fails here, and so does a page left outside sign-in.

const root = join(__dirname, '..', '..');
const templates = loadTemplates(join(root, 'infra'));
const functionApp = templates.get('modules/functionApp.bicep')!;
const main = templates.get('main.bicep')!;

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

const auth = functionApp.resources.find(
  (r) => r.type === 'Microsoft.Web/sites/config' && /name: 'authsettingsV2'/.test(r.text),
);
const settingOf = (stmt: Statement, key: string) =>
  entries(functionApp, stmt).find((e) => e.key === key)?.value;

/** The excluded paths as the template lists them. */
function excludedPaths(): string[] {
  const list = functionApp.vars.find((v) => v.name === 'keyProtectedPaths');
  if (!list) throw new Error('functionApp.bicep declares no keyProtectedPaths');
  return list.tokens.filter((t) => t.kind === 'string').map((t) => t.value);
}

/** App Service's matching: the path itself, or under a `/*` entry's prefix. */
function excluded(path: string, paths: readonly string[]): boolean {
  return paths.some((p) => (p.endsWith('/*') ? path.startsWith(p.slice(0, -1)) : path === p));
}

/** A request path the route serves, route parameters filled with a sample value. */
const samplePath = (route: string) => `/api/${route.replace(/\{[^}]+\}/g, 'x1')}`;

describe('App Service authentication in the template', () => {
  it('is a parameter that defaults to off and reaches the Function App with its registration', () => {
    const param = main.params.find((p) => p.name === 'enableAppServiceAuth')!;
    expect(param.type).toBe('bool');
    expect(param.text).toMatch(/= false$/);
    const app = main.modules.find((m) => m.path === 'modules/functionApp.bicep')!;
    const passed = Object.fromEntries(entries(main, app).map((e) => [e.key, e.value]));
    expect(passed).toMatchObject({
      enableAppServiceAuth: 'enableAppServiceAuth',
      authClientId: 'authClientId',
      authTenantId: 'empty(authTenantId) ? tenant().tenantId : authTenantId',
    });
    expect(auth).toBeDefined();
    expect(auth!.text).toMatch(/^resource appServiceAuth '[^']+' = if \(enableAppServiceAuth\) \{/);
  });

  it('signs people in with Entra ID before the pages, with no client secret to keep', () => {
    const text = auth!.text;
    expect(text).toMatch(/platform: \{\s*enabled: true\s*\}/);
    expect(text).toMatch(/requireAuthentication: true/);
    expect(text).toMatch(/unauthenticatedClientAction: 'RedirectToLoginPage'/);
    expect(text).toMatch(/redirectToProvider: 'azureactivedirectory'/);
    expect(text).toMatch(/excludedPaths: keyProtectedPaths/);
    expect(text).toMatch(/azureActiveDirectory: \{\s*enabled: true/);
    expect(settingOf(auth!, 'clientId')).toBe('authClientId');
    expect(settingOf(auth!, 'openIdIssuer')).toBe(
      "'${environment().authentication.loginEndpoint}${authTenantId}/v2.0'",
    );
    expect(text).not.toMatch(/clientSecret/);
    expect(text).toMatch(/requireHttps: true/);
  });

  it('makes the app trust the principal it injects only when it is on', () => {
    const v = functionApp.vars.find((x) => x.name === 'appServiceAuthSettings')!;
    expect(v.text).toMatch(
      /= enableAppServiceAuth \? \{ GREENLIGHT_TRUST_CLIENT_PRINCIPAL: 'true' \} : \{\}$/,
    );
    const appSettings = functionApp.resources.find((r) => /name: 'appsettings'/.test(r.text))!;
    expect(appSettings.text).toContain('appServiceAuthSettings');
  });

  describe('against the routes the app registers', () => {
    const functions = loadApp();
    const http = functions.filter((f) => f.trigger.type === 'httpTrigger');
    const paths = excludedPaths();

    it('excludes every key-protected route, so the CLI, CI and scripts keep working with their key', () => {
      const keyed = http.filter((f) => f.trigger.authLevel !== 'anonymous');
      expect(keyed.length).toBeGreaterThanOrEqual(5);
      const notExcluded = keyed
        .map((f) => samplePath(String(f.trigger.route)))
        .filter((p) => !excluded(p, paths));
      expect(notExcluded).toEqual([]);
    });

    it('excludes the runtime webhooks: Event Grid and the Durable Functions API use the system key', () => {
      expect(functions.some((f) => f.trigger.type === 'eventGridTrigger')).toBe(true);
      expect(excluded('/runtime/webhooks/eventgrid', paths)).toBe(true);
      expect(excluded('/runtime/webhooks/durabletask/instances/x1', paths)).toBe(true);
    });

    it('leaves no page outside sign-in: the approval page and dashboard need the signed-in person', () => {
      const pages = http.filter((f) => f.trigger.authLevel === 'anonymous');
      const routes = pages.map((f) => String(f.trigger.route));
      expect(routes).toEqual(expect.arrayContaining(['approvals/{id}', 'dashboard']));
      expect(pages.map((f) => samplePath(String(f.trigger.route))).filter((p) => excluded(p, paths))).toEqual(
        [],
      );
      // An excluded path that serves nothing is a hole for a route added later without a look here.
      const served = [...http.map((f) => samplePath(String(f.trigger.route))), '/runtime/webhooks/eventgrid'];
      expect(paths.filter((p) => !served.some((s) => excluded(s, [p])))).toEqual([]);
    });
  });

  it('is documented in the README (Azure) and infra/README.md', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const azure = readme.split('\n## Deploy to Azure')[1]?.split('\n## ')[0] ?? '';
    expect(azure).toMatch(/enableAppServiceAuth/);
    expect(azure).toMatch(/GREENLIGHT_AUTH_CLIENT_ID/);
    const infraReadme = readFileSync(join(root, 'infra', 'README.md'), 'utf8');
    for (const p of excludedPaths()) expect(infraReadme).toContain(`\`${p}\``);
  });
});
