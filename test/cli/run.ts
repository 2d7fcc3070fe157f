import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The CLI as operators run it: its own process, from source through the test transform. */
export const cliCommand = [
  process.execPath,
  '-r',
  resolve(__dirname, '../support/tsRegister.cjs'),
  resolve(__dirname, '../../src/cli/index.ts'),
];

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `greenlight <args>` to its end; GREENLIGHT_URL/KEY come from `env` only (none inherited). */
export function cli(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...opts.env };
  if (!opts.env?.GREENLIGHT_URL) delete env.GREENLIGHT_URL;
  if (!opts.env?.GREENLIGHT_KEY) delete env.GREENLIGHT_KEY;
  return new Promise((done, fail) => {
    const child = spawn(cliCommand[0]!, [...cliCommand.slice(1), ...args], {
      env,
      cwd: opts.cwd ?? process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** A tmux server of the test's own (its own socket, removed on stop), for commands that need a terminal. */
export class Tmux {
  private readonly dir = mkdtempSync(join(tmpdir(), 'greenlight-tmux-'));
  private readonly socket = join(this.dir, 'socket');

  static available(): boolean {
    return spawnSync('tmux', ['-V']).status === 0;
  }

  run(...args: string[]): string {
    const r = spawnSync('tmux', ['-S', this.socket, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  }

  /** Starts `command` in a detached 120×40 session; the pane stays after it exits, showing its exit code. */
  start(name: string, command: string): void {
    this.run(
      'new-session',
      '-d',
      '-s',
      name,
      '-x',
      '120',
      '-y',
      '40',
      `${command}; echo "[exit $?]"; sleep 600`,
    );
  }

  capture(name: string): string {
    return this.run('capture-pane', '-p', '-t', name);
  }

  stop(): void {
    spawnSync('tmux', ['-S', this.socket, 'kill-server']);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Fails with the command's output when it did not exit with `code`. */
export function expectExit(r: CliRun, code: number): void {
  if (r.code !== code)
    throw new Error(`exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}
