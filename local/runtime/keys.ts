import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Host keys, as the Functions host keeps them: a master key, the default function key, a system key for webhooks. */
export interface HostKeys {
  master: string;
  function: string;
  system: string;
}

const newKey = (): string => randomBytes(30).toString('base64url');

/** Reads the local key file, creating it (mode 0600) on first use. */
export async function loadHostKeys(file: string): Promise<HostKeys> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<HostKeys>;
    if (parsed.master && parsed.function && parsed.system) {
      return { master: parsed.master, function: parsed.function, system: parsed.system };
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read the host key file ${file} (${(e as Error).message}); fix or delete it`, {
        cause: e,
      });
    }
  }
  const keys: HostKeys = { master: newKey(), function: newKey(), system: newKey() };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  return keys;
}

/**
 * A secret kept in a file (mode 0600), created on first use: `npm start` keeps its approval signing key
 * across restarts, as it keeps its host keys, so approval links shown before a restart still work.
 */
export async function loadSecret(file: string, bytes = 32): Promise<string> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    if (text.length >= 32) return text;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read the secret file ${file} (${(e as Error).message}); fix or delete it`, {
        cause: e,
      });
    }
  }
  const secret = randomBytes(bytes).toString('base64');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
