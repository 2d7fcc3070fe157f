import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Target } from './client';

/** Bad input to the CLI itself: shown as is, exit 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface TargetOptions {
  url?: string;
  key?: string;
  local?: boolean;
}

/** Where `npm start` keeps its base URL and function key, relative to the directory it runs in. */
export const localFile = join('.greenlight', 'local.json');

/**
 * The API to talk to: `--url`/`--key`, else `GREENLIGHT_URL`/`GREENLIGHT_KEY`; `--local` reads what
 * `npm start` keeps (the nearest `.greenlight/local.json` up from the working directory), and flags
 * still override it.
 */
export function resolveTarget(
  opts: TargetOptions,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): Target {
  if (opts.local) {
    const file = findUp(cwd, localFile);
    if (!file) {
      throw new UsageError(
        `--local: no ${localFile} in ${cwd} or a folder above it; run \`npm start\` in the Greenlight repository first (it writes that file), or pass --url and --key`,
      );
    }
    const local = readLocalFile(file);
    return {
      url: checkUrl(opts.url ?? local.url, opts.url ? '--url' : file),
      key: opts.key ?? local.functionKey,
      source: opts.url ? '--url' : file,
    };
  }
  const url = opts.url ?? env.GREENLIGHT_URL;
  if (!url) {
    throw new UsageError(
      'no Greenlight to talk to: pass --url https://<function app>, set GREENLIGHT_URL, or use --local for the one `npm start` runs',
    );
  }
  const source = opts.url ? '--url' : 'GREENLIGHT_URL';
  const key = opts.key ?? (env.GREENLIGHT_KEY || undefined);
  return { url: checkUrl(url, source), ...(key ? { key } : {}), source };
}

function checkUrl(value: string, source: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new UsageError(
      `the URL from ${source} must be an http(s) URL such as https://greenlight.azurewebsites.net; got '${value}'`,
    );
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new UsageError(`the URL from ${source} must use http or https; got '${value}'`);
  }
  return value.replace(/\/+$/, '');
}

function findUp(from: string, rel: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, rel);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function readLocalFile(file: string): { url: string; functionKey?: string } {
  let parsed: { url?: unknown; functionKey?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as typeof parsed;
  } catch (e) {
    throw new UsageError(
      `--local: cannot read ${file} (${e instanceof Error ? e.message : String(e)}); restart \`npm start\` to rewrite it`,
    );
  }
  if (typeof parsed.url !== 'string') {
    throw new UsageError(`--local: ${file} has no "url"; restart \`npm start\` to rewrite it`);
  }
  return {
    url: parsed.url,
    ...(typeof parsed.functionKey === 'string' ? { functionKey: parsed.functionKey } : {}),
  };
}
