/**
 * The approval page and the dashboard in a real browser: Debian's chromium driven by playwright-core.
 * Signed in through the local runtime's App Service authentication, as a person would be in Azure.
 * Screenshots land in test-artifacts/screenshots/ (git-ignored).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import {
  getRollout,
  seed,
  startE2E,
  startRollout,
  trafficPolicy,
  untilDone,
  untilPhase,
  type E2E,
} from './support';

const shots = join(__dirname, '..', '..', 'test-artifacts', 'screenshots');
const approver = 'alice@contoso.com';

function chromiumPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: apt-get install -y chromium (.ci/run does it)');
  }
}

const fast = {
  validation: {
    readiness: { timeout: 'PT1M', pollInterval: 'PT1S' },
    smoke: [{ name: 'health', path: '/healthz', expectStatus: 200 }],
  },
  approval: { required: true, timeout: 'PT1H', onTimeout: 'rollback', approvers: [approver] },
  watch: { duration: 'PT2S', interval: 'PT1S' },
  cleanup: { deactivateAfter: 'PT1S', keepRevisions: 2 },
};

let e: E2E;
let browser: Browser;

/** Waits for the first match to be visible (playwright-core has no test matchers). */
const visible = (l: Locator): Promise<void> => l.first().waitFor({ state: 'visible', timeout: 10_000 });
/** Console errors per page, except the CSP test's own (expected) refusal. */
const consoleErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  e = await startE2E(
    [
      trafficPolicy('pages', { ...fast, strategy: { type: 'traffic', steps: [50, 100], stepPause: 'PT1S' } }),
      trafficPolicy('pages-viewer', fast),
    ],
    {
      clock: 'real',
      env: { WEBSITE_AUTH_ENABLED: 'True', GREENLIGHT_TRUST_CLIENT_PRINCIPAL: 'true' },
    },
  );
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await e?.stop();
});

async function newPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`${page.url()}: ${err.message}`));
  return page;
}

/** The approval page's path and query, from the status's link. */
function pagePath(pageUrl: string): string {
  const u = new URL(pageUrl);
  return `${u.pathname}${u.search}`;
}

async function signIn(page: Page, user: string, back: string): Promise<void> {
  // The sign-in link the page offers (App Service's /.auth/login/aad), answered by the local runtime's form.
  await page.goto(`${e.gl.baseUrl}/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent(back)}`);
  await page.getByLabel('Your account (e-mail address)').fill(user);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => `${u.pathname}${u.search}` === back);
}

describe('approval page and dashboard in chromium', () => {
  it('a signed-in approver approves in the browser and the rollout promotes', async () => {
    await seed(e, 'pages');
    const id = await startRollout(e, 'pages', 'v2');
    const waiting = await untilPhase(e, id, 'WaitingApproval');
    const path = pagePath(waiting.approval.pageUrl!);
    const context = await browser.newContext();
    const page = await newPage(context);

    // Not signed in: told to sign in, and no button that would fail.
    await page.goto(`${e.gl.baseUrl}${path}`);
    await visible(page.getByText('Sign in to decide.'));
    expect(await page.getByRole('button', { name: 'Approve and promote' }).count()).toBe(0);
    await page.screenshot({ path: join(shots, 'approval-signed-out.png'), fullPage: true });

    await signIn(page, approver, path);
    await visible(page.getByText(`signed in as ${approver}`));
    await visible(page.getByRole('heading', { name: 'Promote pages?' }));
    // What replaces what, with the checks' values.
    await visible(page.getByText(`${'e2eacr.azurecr.io'}/e2e/pages:v2`).first());
    await visible(page.getByText('e2eacr.azurecr.io/e2e/pages:v1'));
    await visible(page.getByRole('row', { name: /Smoke: health pass HTTP 200/ }));
    await page.screenshot({ path: join(shots, 'approval-approver.png'), fullPage: true });

    // A comment carrying markup is recorded and shown as text, never run.
    await page
      .getByLabel('Comment (optional, recorded with the decision)')
      .first()
      .fill('<script>window.pwned=1</script> ship it');
    await page.getByRole('button', { name: 'Approve and promote' }).click();
    await visible(page.getByRole('heading', { name: 'Approved' }));
    await visible(page.getByText(`Recorded approver: ${approver}`));
    await page.screenshot({ path: join(shots, 'approval-result.png'), fullPage: true });

    const done = await untilDone(e, id);
    expect(done.outcome).toBe('Succeeded');
    expect(done.approval).toMatchObject({ state: 'approved', decidedBy: approver });

    // The dashboard: the rollout listed, its page with charts, the comment shown as text.
    await page.goto(`${e.gl.baseUrl}/api/dashboard`);
    await visible(page.getByRole('link', { name: id }));
    await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });
    await page.getByRole('link', { name: id }).click();
    await visible(page.getByRole('img', { name: 'Traffic per revision over time' }));
    await visible(page.getByText('<script>window.pwned=1</script> ship it').first());
    expect(await page.evaluate('typeof window.pwned')).toBe('undefined');
    await visible(page.getByRole('cell', { name: 'approval.approved' }));
    await page.screenshot({ path: join(shots, 'dashboard-rollout.png'), fullPage: true });
    await context.close();
    expect(consoleErrors).toEqual([]);
  }, 90_000);

  it('a signed-in viewer who is not an approver is told why and who may decide', async () => {
    await seed(e, 'pages-viewer');
    const id = await startRollout(e, 'pages-viewer', 'v2');
    const waiting = await untilPhase(e, id, 'WaitingApproval');
    const path = pagePath(waiting.approval.pageUrl!);
    const context = await browser.newContext();
    const page = await newPage(context);
    await signIn(page, 'bob@contoso.com', path);
    await visible(page.getByText('You cannot decide this rollout.'));
    expect(await page.locator('#standing').textContent()).toContain(
      `bob@contoso.com, who is not among this app's approvers: ${approver}`,
    );
    expect(await page.getByRole('button', { name: 'Approve and promote' }).count()).toBe(0);
    await page.screenshot({ path: join(shots, 'approval-not-approver.png'), fullPage: true });

    // A forged principal header is stripped: the platform alone says who is signed in.
    const forged = await context.request.post(`${e.gl.baseUrl}/api/approvals/${id}`, {
      headers: { 'x-ms-client-principal-name': approver, accept: 'application/json' },
      form: { token: new URL(waiting.approval.pageUrl!).searchParams.get('token')! },
    });
    expect(forged.status()).toBe(403);
    expect((await getRollout(e.gl, id)).phase).toBe('WaitingApproval');
    await context.close();
    expect(consoleErrors).toEqual([]);
  }, 60_000);

  it('the CSP blocks an injected inline script and reports the violation', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const refused: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') refused.push(m.text());
    });
    await signIn(page, approver, '/api/dashboard');
    // Added by the test through the DevTools protocol, which the page's CSP does not govern.
    await page.evaluate(
      "window.violations = []; document.addEventListener('securitypolicyviolation', (ev) => window.violations.push(ev.violatedDirective));",
    );
    await page.addScriptTag({ content: 'window.injected = 1;' }).catch(() => undefined);
    await page.waitForFunction('window.violations.length > 0');
    expect(await page.evaluate('typeof window.injected')).toBe('undefined');
    expect(await page.evaluate('window.violations')).toEqual([expect.stringMatching(/^script-src/)]);
    expect(refused.join('\n')).toMatch(/Content Security Policy/);
    await context.close();
  }, 30_000);
});

describe('page routes refuse bad input with a page and the same headers', () => {
  async function signedInCookie(): Promise<string> {
    const res = await fetch(`${e.gl.baseUrl}/.auth/login/local?user=${encodeURIComponent(approver)}`, {
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    return res.headers.get('set-cookie')!.split(';')[0]!;
  }

  function expectPageHeaders(res: Response): void {
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(
      /^default-src 'none'; style-src 'sha256-[^']+'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/,
    );
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cache-control')).toBe('no-store');
  }

  it.each([
    ['/api/dashboard/rollouts/%25bad', 400, 'Invalid rollout id'],
    ['/api/dashboard/rollouts/no-such-rollout', 404, 'Rollout not found'],
    ['/api/dashboard?app=%3Cscript%3E', 400, 'Invalid app name'],
    ['/api/dashboard?color=red', 400, 'Unknown query parameter'],
    [`/api/dashboard/rollouts/${'x'.repeat(101)}`, 400, 'Invalid rollout id'],
  ])('GET %s → %d', async (path, status, title) => {
    const res = await fetch(`${e.gl.baseUrl}${path}`, { headers: { cookie: await signedInCookie() } });
    expect(res.status).toBe(status);
    expectPageHeaders(res);
    const body = await res.text();
    expect(body).toContain(`<h1>${title}</h1>`);
    expect(body).not.toContain('<script');
  });

  it('the dashboard asks a visitor who is not signed in to sign in', async () => {
    const res = await fetch(`${e.gl.baseUrl}/api/dashboard`, {
      headers: { 'x-ms-client-principal-name': approver },
    });
    expect(res.status).toBe(401);
    expectPageHeaders(res);
    expect(await res.text()).toContain('href="/.auth/login/aad?post_login_redirect_uri=%2Fapi%2Fdashboard"');
  });

  it('the approval page refuses a missing or forged token with a page for a browser', async () => {
    const missing = await fetch(`${e.gl.baseUrl}/api/approvals/pages-abc`, {
      headers: { accept: 'text/html' },
    });
    expect(missing.status).toBe(400);
    expectPageHeaders(missing);
    const forged = await fetch(`${e.gl.baseUrl}/api/approvals/pages-abc?token=x.y`, {
      headers: { accept: 'text/html' },
    });
    expect(forged.status).toBeGreaterThanOrEqual(400);
    expectPageHeaders(forged);
    const program = await fetch(`${e.gl.baseUrl}/api/approvals/%25bad?token=x`, {
      headers: { accept: 'application/json' },
    });
    expect(program.status).toBe(400);
    expect(program.headers.get('content-type')).toBe('application/problem+json');
  });

  it('sign-in refuses a name that is not an account, and never redirects off the host', async () => {
    const bad = await fetch(`${e.gl.baseUrl}/.auth/login/local?user=%3Cb%3E`, { redirect: 'manual' });
    expect(bad.status).toBe(400);
    expectPageHeaders(bad);
    const offsite = await fetch(
      `${e.gl.baseUrl}/.auth/login/local?user=alice%40contoso.com&post_login_redirect_uri=https%3A%2F%2Fevil.example%2F`,
      { redirect: 'manual' },
    );
    expect(offsite.status).toBe(302);
    expect(offsite.headers.get('location')).toBe('/api/dashboard');
  });
});
