// The README's first-run walkthrough, run as written: the commands are read from README.md (between the
// walkthrough markers), so the README and this test cannot drift. The sh blocks run in order in one bash
// (the newcomer's second terminal: its functions and variables carry over); the block marked `background`
// runs on its own (the first terminal) until the end. The README's HTML comments say how a person's steps
// are played (see the comment under its walkthrough:start marker).
//
// What differs from a person at this machine, and why: `npm start` runs as what it runs, its build then
// `node dist/local/cli/start.js`, with `--port 0 --redis <the suite's Redis> --key-prefix <unique>` added, in
// a scratch folder holding links to dist/ and examples/, so port 7071, `.greenlight/` and the Redis keys of
// anyone running `npm start` in this repository are left alone. The `--local` CLI then finds that folder's
// `.greenlight/local.json`, as it would the repository's.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deleteKeysWithPrefix, newTestRedis, testRedisUrl, uniquePrefix } from '../support/redis';
import { until } from '../support/until';

const root = resolve(__dirname, '../..');

type Step =
  | {
      kind: 'commands';
      lines: string[];
      expects: string[];
      background?: { ready: string };
      interrupt?: { when: string };
    }
  | { kind: 'approve'; as: string }
  | { kind: 'open'; path: string; expect: string };

/** The walkthrough's steps, in README order: sh blocks with the directives just before them, and page steps. */
function parseWalkthrough(readme: string): Step[] {
  const start = readme.indexOf('<!-- walkthrough:start -->');
  const end = readme.indexOf('<!-- walkthrough:end -->');
  if (start < 0 || end < start)
    throw new Error('README.md has no walkthrough:start … walkthrough:end markers');
  const section = readme.slice(start, end);
  const steps: Step[] = [];
  let pending: Omit<Extract<Step, { kind: 'commands' }>, 'kind' | 'lines'> = { expects: [] };
  const token = /<!-- walkthrough:(\w+)([^]*?)-->|```sh\n([^]*?)```/g;
  for (const m of section.matchAll(token)) {
    const [, directive, args = '', block] = m;
    if (block !== undefined) {
      const lines = block.split('\n').filter((l) => l.trim() !== '');
      steps.push({ kind: 'commands', lines, ...pending });
      pending = { expects: [] };
      continue;
    }
    const attr = (name: string): string => {
      const value = new RegExp(`${name}="([^"]*)"`).exec(args)?.[1];
      if (value === undefined) throw new Error(`walkthrough:${directive} needs ${name}="…"; got '${args}'`);
      return value;
    };
    switch (directive) {
      case 'start':
        break;
      case 'background':
        pending.background = { ready: attr('ready') };
        break;
      case 'interrupt':
        pending.interrupt = { when: attr('when') };
        break;
      case 'expect': {
        const text = /^\s*"([^"]*)"\s*$/.exec(args)?.[1];
        if (text === undefined) throw new Error(`walkthrough:expect needs "…"; got '${args}'`);
        pending.expects.push(text);
        break;
      }
      case 'approve':
        steps.push({ kind: 'approve', as: attr('as') });
        break;
      case 'open':
        steps.push({ kind: 'open', path: attr('path'), expect: attr('expect') });
        break;
      default:
        throw new Error(`unknown walkthrough directive '${directive}'`);
    }
  }
  if (pending.expects.length > 0 || pending.background || pending.interrupt)
    throw new Error('a walkthrough directive is not followed by an sh block');
  return steps;
}

/** The exit code a command's own comment announces (`# exits 2: …`), else 0. */
function expectedExit(line: string): number {
  const announced = /#.*\bexits (\d+)/.exec(line)?.[1];
  return announced === undefined ? 0 : Number(announced);
}

const done = '__WALKTHROUGH_DONE__';

/** One bash, fed a command at a time: what a person types into a terminal, with what it prints. */
class Terminal {
  private readonly bash: ChildProcess;
  private output = '';
  /** Everything printed since the terminal opened: an approval link is read from it. */
  transcript = '';

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.bash = spawn('bash', ['--noprofile', '--norc'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const take = (b: Buffer): void => {
      this.output += b.toString();
    };
    this.bash.stdout!.on('data', take);
    this.bash.stderr!.on('data', take);
    this.bash.stdin!.write('exec 2>&1\n');
  }

  /** Runs one command line; with `interruptWhen`, presses Ctrl-C on it once its output shows that text. */
  async run(
    line: string,
    opts: { interruptWhen?: string; timeoutMs: number },
  ): Promise<{ code: number; output: string }> {
    this.output = '';
    this.bash.stdin!.write(`${line}\nprintf '\\n${done} %d\\n' $?\n`);
    let interrupted = false;
    const code = await until(
      `\`${line}\` to finish`,
      () => {
        const m = new RegExp(`\\n${done} (\\d+)\\n`).exec(this.output);
        if (m) return Number(m[1]);
        if (opts.interruptWhen && !interrupted && this.output.includes(opts.interruptWhen)) {
          interrupted = true;
          this.ctrlC();
        }
        return undefined;
      },
      opts.timeoutMs,
      100,
    );
    const output = this.output.slice(0, this.output.lastIndexOf(`\n${done}`));
    this.transcript += output;
    return { code, output };
  }

  /** Ctrl-C reaches the foreground command, not the shell: SIGINT to the shell's children. */
  private ctrlC(): void {
    this.signalChildren('SIGINT');
  }

  private signalChildren(signal: NodeJS.Signals): void {
    const pid = this.bash.pid!;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
    for (const child of children.filter(Boolean)) process.kill(Number(child), signal);
  }

  /** Closes the terminal, ending a command still running (after a failed step). */
  async close(): Promise<void> {
    if (this.bash.exitCode !== null || this.bash.signalCode !== null) return;
    this.signalChildren('SIGKILL');
    this.bash.stdin!.end('exit\n');
    await once(this.bash, 'exit');
  }
}

/** The first terminal's `npm start`, as what it runs (see the top of this file). */
function startCommand(line: string, prefix: string): string[] {
  const m = /^npm start(?: -- (.*?))?\s*(#.*)?$/.exec(line.trim());
  if (!m) throw new Error(`the test runs only \`npm start\` in the background; the README has '${line}'`);
  const args = (m[1] ?? '').split(/\s+/).filter(Boolean);
  return [
    join(root, 'dist/local/cli/start.js'),
    ...args,
    '--port',
    '0',
    '--redis',
    testRedisUrl(),
    '--key-prefix',
    prefix,
  ];
}

/** A signed-in session cookie from the local App Service authentication. */
async function signIn(origin: string, user: string): Promise<string> {
  const res = await fetch(`${origin}/.auth/login/local?user=${encodeURIComponent(user)}`, {
    redirect: 'manual',
  });
  expect(res.status).toBe(302);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

async function page(url: string, cookie?: string): Promise<string> {
  const res = await fetch(url, { headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) } });
  const html = await res.text();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${html.slice(0, 300)}`);
  return html;
}

/** Step 3 of the README: the approval page, signed out, as someone else, then as the approver. */
async function approveOnPage(pageUrl: string, approver: string): Promise<void> {
  const origin = new URL(pageUrl).origin;
  const signedOut = await page(pageUrl);
  expect(signedOut).toContain('Sign in to decide.');
  expect(signedOut).toContain(approver);
  expect(signedOut).toContain('href="/.auth/login/aad?post_login_redirect_uri=');
  const someoneElse = await page(pageUrl, await signIn(origin, 'alice@contoso.com'));
  expect(someoneElse).toContain('You cannot decide this rollout.');
  expect(someoneElse).not.toContain('Approve and promote');

  const cookie = await signIn(origin, approver);
  const html = await page(pageUrl, cookie);
  const forms = [...html.matchAll(/<form\b[^>]*\bmethod="post"[^>]*\baction="([^"]+)"[^>]*>(.*?)<\/form>/gs)];
  const form = forms.find((f) => f[2]?.includes('name="decision" value="approve"'));
  const token = form?.[2] ? /name="token" value="([^"]+)"/.exec(form[2])?.[1] : undefined;
  if (!form?.[1] || !token) throw new Error('the approval page has no Approve form for the approver');
  expect(form[2]).toContain('Approve and promote');
  const res = await fetch(new URL(form[1].replace(/&amp;/g, '&'), pageUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie },
    body: new URLSearchParams({ token, decision: 'approve', comment: '' }).toString(),
  });
  const result = await res.text();
  expect(res.status).toBe(200);
  expect(result).toContain('Approved');
}

const prefix = uniquePrefix('walkthrough');
const scratch = mkdtempSync(join(tmpdir(), 'greenlight-walkthrough-'));
const env: NodeJS.ProcessEnv = { ...process.env };
delete env.GREENLIGHT_URL;
delete env.GREENLIGHT_KEY;
let stack: ChildProcess | undefined;
let stackLog = '';
let terminal: Terminal | undefined;

beforeAll(() => {
  // What `npm start` does first. A type error elsewhere still emits, and the commands then say what fails.
  const build = spawnSync('npm', ['run', 'build:local', '--silent'], { cwd: root, encoding: 'utf8' });
  if (build.error) throw build.error;
  for (const name of ['dist', 'examples']) symlinkSync(join(root, name), join(scratch, name));
}, 180_000);

afterAll(async () => {
  await terminal?.close();
  if (stack && stack.exitCode === null && stack.signalCode === null) {
    stack.kill('SIGKILL');
    await once(stack, 'exit');
  }
  const redis = newTestRedis();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
  rmSync(scratch, { recursive: true, force: true });
});

describe('README walkthrough', () => {
  it('runs as written: approved and promoted, undone, a broken image rolled back', async () => {
    const steps = parseWalkthrough(readFileSync(join(root, 'README.md'), 'utf8'));
    // The walkthrough the README promises: a stack, commands, an approval on the page, a page read.
    expect(steps.filter((s) => s.kind === 'commands' && s.background)).toHaveLength(1);
    expect(steps.filter((s) => s.kind === 'approve')).toHaveLength(1);
    expect(steps.filter((s) => s.kind === 'commands' && !s.background).length).toBeGreaterThanOrEqual(4);

    terminal = new Terminal(scratch, env);
    const started = Date.now();
    const timings: string[] = [];
    for (const step of steps) {
      const t0 = Date.now();
      if (step.kind === 'approve') {
        const links = [...terminal.transcript.matchAll(/https?:\/\/\S+\/api\/approvals\/\S+/g)];
        const link = links.at(-1)?.[0];
        if (!link)
          throw new Error(`no approval link shown before the approval step:\n${terminal.transcript}`);
        await approveOnPage(link, step.as);
        timings.push(`approve ${Date.now() - t0} ms`);
        continue;
      }
      if (step.kind === 'open') {
        const local = JSON.parse(readFileSync(join(scratch, '.greenlight/local.json'), 'utf8')) as {
          url: string;
        };
        const approver = steps.find((s) => s.kind === 'approve');
        const cookie = approver?.kind === 'approve' ? await signIn(local.url, approver.as) : undefined;
        expect(await page(`${local.url}${step.path}`, cookie)).toContain(step.expect);
        continue;
      }
      if (step.background) {
        expect(step.lines).toHaveLength(1);
        const [script, ...args] = startCommand(step.lines[0]!, prefix);
        const child = spawn(process.execPath, [script!, ...args], {
          cwd: scratch,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        stack = child;
        child.stdout!.on('data', (b: Buffer) => (stackLog += b.toString()));
        child.stderr!.on('data', (b: Buffer) => (stackLog += b.toString()));
        const ready = step.background.ready;
        await until(
          `npm start to print '${ready}'`,
          () => {
            if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${stackLog}`);
            return stackLog.includes(ready);
          },
          60_000,
          100,
        );
        for (const text of step.expects) expect(stackLog).toContain(text);
        timings.push(`${step.lines[0]} ${Date.now() - t0} ms`);
        continue;
      }
      let output = '';
      for (const [i, line] of step.lines.entries()) {
        const t1 = Date.now();
        const last = i === step.lines.length - 1;
        const interruptWhen = last ? step.interrupt?.when : undefined;
        const run = await terminal.run(line, {
          timeoutMs: 150_000,
          ...(interruptWhen ? { interruptWhen } : {}),
        });
        output += run.output;
        // Ctrl-C ends a command with 130 (SIGINT); one that ended first exits as usual.
        const allowed = interruptWhen ? [130, expectedExit(line)] : [expectedExit(line)];
        if (!allowed.includes(run.code)) {
          throw new Error(
            `\`${line}\` exited ${run.code}, the README says ${expectedExit(line)}; it printed:\n${run.output}\n--- npm start printed:\n${stackLog}`,
          );
        }
        timings.push(`${line.replace(/\s+#.*$/, '')}: exit ${run.code}, ${Date.now() - t1} ms`);
      }
      for (const text of step.expects) {
        if (!output.includes(text))
          throw new Error(`the README says this step shows '${text}'; it printed:\n${output}`);
      }
    }
    process.stdout.write(`walkthrough: ${Date.now() - started} ms\n  ${timings.join('\n  ')}\n`);

    // Ctrl-C in the first terminal stops the stack.
    stack!.kill('SIGINT');
    const [code] = (await once(stack!, 'exit')) as [number | null];
    expect(code).toBe(0);
  }, 240_000);
});
