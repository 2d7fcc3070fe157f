import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registry, seed, startE2E, trafficPolicy, untilPhase, type E2E } from '../e2e/support';
import { until } from '../support/until';
import { cli, cliCommand, expectExit, shellQuote, Tmux } from './run';

const approval = { required: true, timeout: 'PT24H', onTimeout: 'rollback' };
const policies = [
  trafficPolicy('cliweb', { approval, strategy: { type: 'traffic', steps: [50, 100], stepPause: 'PT1M' } }),
  trafficPolicy('clibad'),
];
const withinAnHour = (next: number, now: number): boolean => next - now < 3_600_000;
const image = (app: string, tag: string): string => `${registry}/e2e/${app}:${tag}`;

let e: E2E;
let env: Record<string, string>;
beforeAll(async () => {
  e = await startE2E(policies);
  await seed(e, 'cliweb');
  await seed(e, 'clibad');
  env = { GREENLIGHT_URL: e.gl.baseUrl, GREENLIGHT_KEY: e.gl.functionKey };
}, 60_000);
afterAll(async () => {
  await e?.stop();
});
// Approval timeouts (24 h) are not skipped: the rollout waits for the CLI's promote.
beforeEach(() => e.stack.runtime.setTimeSkipping(withinAnHour));

/** The terminal's screen once `ok` holds; the last screen is in the error otherwise. */
async function screenUntil(tmux: Tmux, what: string, ok: (screen: string) => boolean): Promise<string> {
  let last = '';
  try {
    return await until(
      what,
      () => ((last = tmux.capture('watch')), ok(last) ? last : undefined),
      30_000,
      100,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; the screen:\n${last}`);
  }
}

async function startWithCli(app: string, tag: string): Promise<string> {
  const r = await cli(['rollout', '--app', app, '--image', image(app, tag), '-q'], { env });
  expectExit(r, 0);
  const id = r.stdout.trim();
  expect(id).toMatch(/^\S+$/);
  return id;
}

describe('greenlight CLI against the local runtime', () => {
  it('starts a rollout, waits for approval, shows it, promotes it and waits until it succeeds', async () => {
    const id = await startWithCli('cliweb', 'v2');

    const reached = await cli(
      ['wait', id, '--for', 'WaitingApproval', '--timeout', '60s', '--interval', '100ms'],
      {
        env,
      },
    );
    expectExit(reached, 0);
    expect(reached.stdout).toContain(`${id} reached WaitingApproval`);

    const json = await cli(['status', id, '-o', 'json'], { env });
    expectExit(json, 0);
    const view = JSON.parse(json.stdout);
    expect(view).toMatchObject({ id, phase: 'WaitingApproval', approval: { state: 'pending' } });
    expect(view.approval.pageUrl).toContain(`/api/approvals/${id}`);

    // Not a terminal: the same view as plain text, no escape codes.
    const text = await cli(['status', id], { env });
    expectExit(text, 0);
    expect(text.stdout).not.toContain('\u001b[');
    expect(text.stdout).toMatch(/^phase\s+WaitingApproval/m);
    expect(text.stdout).toMatch(/^traffic\s+cliweb--\S+\s+█+\s+100%\s+blue/m);
    expect(text.stdout).toMatch(/^smoke\s+passed against http/m);
    expect(text.stdout).toMatch(/^approval\s+pending\s+expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(in 2\dh/m);
    expect(text.stdout).toContain(view.approval.pageUrl);
    expect(text.stdout).toMatch(/^timeline\s+\d\d:\d\d:\d\dZ Initializing/m);

    // A rollout still waiting does not end within a second: exit 4.
    const timedOut = await cli(['wait', id, '--for', 'done', '--timeout', '1s', '--interval', '200ms'], {
      env,
    });
    expectExit(timedOut, 4);
    expect(timedOut.stderr).toContain(
      `timed out after 1s waiting for ${id} to reach done; it is WaitingApproval`,
    );

    const listed = await cli(['list', '--app', 'cliweb', '-o', 'json'], { env });
    expectExit(listed, 0);
    expect(JSON.parse(listed.stdout).rollouts.map((r: { id: string }) => r.id)).toContain(id);
    const byPhase = await cli(['list', '--status', 'waitingapproval'], { env });
    expectExit(byPhase, 0);
    expect(byPhase.stdout).toMatch(new RegExp(`^${id}\\s+cliweb\\s+WaitingApproval\\s`, 'm'));

    const promoted = await cli(['promote', id, '--reason', 'checked by hand'], { env });
    expectExit(promoted, 0);
    expect(promoted.stdout).toContain(`${id}: promotion requested`);

    const done = await cli(
      ['wait', id, '--for', 'done', '--timeout', '60s', '--interval', '100ms', '-o', 'json'],
      {
        env,
      },
    );
    expectExit(done, 0);
    expect(JSON.parse(done.stdout)).toMatchObject({ exitCode: 0, rollout: { id, phase: 'Succeeded' } });

    // It passed through Promoting, so waiting for that now answers at once; it never rolled back: 6.
    expectExit(await cli(['wait', id, '--for', 'promoting', '--timeout', '5s'], { env }), 0);
    const never = await cli(['wait', id, '--for', 'RollingBack', '--timeout', '5s'], { env });
    expectExit(never, 6);
    expect(never.stderr).toContain(`${id} ended Succeeded without passing through RollingBack`);

    // A finished rollout cannot be promoted: the API's problem detail, exit 1.
    const late = await cli(['promote', id], { env });
    expectExit(late, 1);
    expect(late.stderr).toContain(
      `Cannot promote this rollout (HTTP 409): rollout ${id} is Succeeded (Succeeded); only a running rollout can be promoted`,
    );
  });

  it('exits 2 when the rollout is rolled back, and follows it as plain lines and as JSON lines', async () => {
    const id = await startWithCli('clibad', 'v2-crash');
    const [waited, plain, lines] = await Promise.all([
      cli(['wait', id, '--for', 'done', '--timeout', '60s', '--interval', '100ms'], { env }),
      cli(['status', id, '--watch', '--interval', '100ms'], { env }),
      cli(['status', id, '--watch', '--interval', '100ms', '-o', 'json'], { env }),
    ]);
    expectExit(waited, 2);
    expect(waited.stderr).toMatch(new RegExp(`${id} ended RolledBack: .*(provision|crash|fail)`, 'i'));

    expectExit(plain, 0);
    const plainLines = plain.stdout.trim().split('\n');
    for (const l of plainLines) expect(l).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\dZ ${id} \\[\\w+\\]`));
    expect(plainLines.at(-1)).toContain('[RolledBack]');

    expectExit(lines, 0);
    const views = lines.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(views.at(-1)).toMatchObject({ id, done: true, phase: 'RolledBack', outcome: 'RolledBack' });
    // Each line is a change: no two in a row are the same.
    for (let i = 1; i < views.length; i++) expect(views[i]).not.toEqual(views[i - 1]);
  });

  it("shows the API's problem detail for bad requests, with exit 1", async () => {
    const unknown = await cli(['status', 'no-such-rollout'], { env });
    expectExit(unknown, 1);
    expect(unknown.stderr).toContain("Rollout not found (HTTP 404): no rollout has id 'no-such-rollout'");

    const noPolicy = await cli(['rollout', '--app', 'nosuch', '--image', image('nosuch', 'v2')], { env });
    expectExit(noPolicy, 1);
    expect(noPolicy.stderr).toContain(
      "No policy for that app (HTTP 404): no rollout policy targets 'nosuch'",
    );

    const badImage = await cli(['rollout', '--app', 'cliweb', '--image', 'Not An Image'], { env });
    expectExit(badImage, 1);
    expect(badImage.stderr).toMatch(/^error: Invalid image \(HTTP 400\): .+/m);

    const wrongKey = await cli(['list', '--key', 'wrong'], { env });
    expectExit(wrongKey, 1);
    expect(wrongKey.stderr).toContain('Function key required (HTTP 401): this function has auth level');

    const noKey = await cli(['list', '--url', e.gl.baseUrl]);
    expectExit(noKey, 1);
    expect(noKey.stderr).toContain(
      'no function key was given: pass --key, set GREENLIGHT_KEY, or use --local',
    );
  });

  it('refuses bad input to the CLI itself with a message that says what to do', async () => {
    const cases: [string[], RegExp, Record<string, string>?][] = [
      [['list'], /no Greenlight to talk to: pass --url/],
      [['list', '--url', 'ftp://x'], /must use http or https; got 'ftp:\/\/x'/],
      [['list', '--url', 'not a url'], /must be an http\(s\) URL/],
      [
        ['wait', 'x', '--for', 'Nowhere'],
        /--for must be done or one of Initializing, .*; got 'Nowhere'/,
        env,
      ],
      [['wait', 'x'], /required option '--for <phase\|done>' not specified/, env],
      [['wait', 'x', '--for', 'done', '--timeout', 'soon'], /--timeout must be a span such as 30s/, env],
      [['rollout', '--app', 'cliweb'], /required option '--image <ref>' not specified/, env],
      [
        ['list', '--status', 'Sleeping'],
        /--status must be a runtime status .* or a phase .*; got 'Sleeping'/,
        env,
      ],
      [['status'], /missing required argument 'id'/, env],
      [['status', 'x', '-o', 'yaml'], /argument 'yaml' is invalid. Allowed choices are text, json/, env],
      [['frobnicate'], /unknown command 'frobnicate'/, env],
      [['abort', 'x', '--reason', 'r'.repeat(501)], /--reason must be at most 500 characters; got 501/, env],
    ];
    for (const [args, message, withEnv] of cases) {
      const r = await cli(args, withEnv ? { env: withEnv } : {});
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stderr).toMatch(message);
    }
  });

  it('--local talks to the Greenlight whose URL and key `npm start` keeps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'greenlight-cli-'));
    try {
      const missing = await cli(['--local', 'list'], { cwd: dir });
      expectExit(missing, 1);
      expect(missing.stderr).toContain('--local: no .greenlight/local.json in');
      expect(missing.stderr).toContain('run `npm start`');

      mkdirSync(join(dir, '.greenlight'));
      writeFileSync(
        join(dir, '.greenlight', 'local.json'),
        JSON.stringify({ url: e.gl.baseUrl, functionKey: e.gl.functionKey }),
      );
      mkdirSync(join(dir, 'sub'));
      // Found from a folder below too, and it wins over GREENLIGHT_URL.
      const r = await cli(['--local', 'list', '--app', 'cliweb', '-o', 'json'], {
        cwd: join(dir, 'sub'),
        env: { GREENLIGHT_URL: 'http://127.0.0.1:1' },
      });
      expectExit(r, 0);
      expect(JSON.parse(r.stdout).count).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  (Tmux.available() ? it : it.skip)(
    'status --watch in a terminal redraws the live view in place',
    async () => {
      const id = await startWithCli('cliweb', 'v3');
      await untilPhase(e, id, 'WaitingApproval');
      const tmux = new Tmux();
      try {
        const command = [...cliCommand, '--url', e.gl.baseUrl, '--key', e.gl.functionKey];
        tmux.start(
          'watch',
          [...command, 'status', id, '--watch', '--interval', '200ms'].map(shellQuote).join(' '),
        );
        const waiting = await screenUntil(tmux, 'the live view in WaitingApproval', (s) =>
          /^phase\s+WaitingApproval/m.test(s),
        );
        expect(waiting).toMatch(/^approval\s+pending\s+expires/m);
        expect(waiting).toContain(`/api/approvals/${id}?token=`);
        expect(waiting).toMatch(/watching every 0.2s · Ctrl-C stops/);

        expectExit(await cli(['promote', id], { env }), 0);
        const ended = await screenUntil(tmux, 'the watch to end with exit 0', (s) => s.includes('[exit 0]'));
        // Redrawn in place: one header, one phase line (now Succeeded), the footer replaced.
        expect(ended.match(new RegExp(`^rollout\\s+${id}$`, 'gm'))).toHaveLength(1);
        expect(ended.match(/^phase\s+/gm)).toHaveLength(1);
        expect(ended).toMatch(/^phase\s+Succeeded/m);
        expect(ended).toMatch(/^approval\s+skipped by .+ at \d\d:\d\d:\d\dZ$/m);
        expect(ended).toMatch(/^traffic\s+cliweb--\S+\s+█+\s+100%\s+green/m);
        expect(ended).not.toContain('watching every');
        expect(ended).toContain('rollout ended');
        expect(ended).toMatch(/^\s+\d\d:\d\d:\d\dZ Promoting/m);
      } finally {
        tmux.stop();
      }
    },
  );
});
