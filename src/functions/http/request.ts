import { createHash } from 'node:crypto';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { z } from 'zod';
import { problem } from './problem';

export type Parsed<T> = { ok: true; value: T } | { ok: false; response: HttpResponseInit };

/** Reads and validates a JSON body; every problem comes back in one RFC 9457 reply. */
export async function readJson<T>(request: HttpRequest, schema: z.ZodType<T>): Promise<Parsed<T>>;
export async function readJson<T>(
  request: HttpRequest,
  schema: z.ZodType<T>,
  opts: { optional: true },
): Promise<Parsed<T | undefined>>;
export async function readJson<T>(
  request: HttpRequest,
  schema: z.ZodType<T>,
  opts: { optional?: boolean } = {},
): Promise<Parsed<T | undefined>> {
  const text = await request.text();
  if (!text.trim()) {
    if (opts.optional) return { ok: true, value: undefined };
    return {
      ok: false,
      response: problem({
        status: 400,
        type: 'missing-body',
        title: 'Request body missing',
        detail: 'send a JSON body with content-type application/json',
      }),
    };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return {
      ok: false,
      response: problem({
        status: 400,
        type: 'malformed-json',
        title: 'Malformed JSON',
        detail: `the body is not valid JSON (${e instanceof Error ? e.message : String(e)}); send a JSON object`,
      }),
    };
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({
      field: i.path.join('.') || '(body)',
      message: i.message,
    }));
    return {
      ok: false,
      response: problem({
        status: 400,
        type: 'invalid-request',
        title: 'Invalid request',
        detail: problems.map((p) => `${p.field}: ${p.message}`).join('; '),
        problems,
      }),
    };
  }
  return { ok: true, value: parsed.data };
}

/** A principal name the platform vouches for (App Service authentication), when the app trusts it. */
function trustedPrincipal(request: HttpRequest, trustClientPrincipal: boolean): string | undefined {
  if (!trustClientPrincipal) return undefined;
  const name = request.headers.get('x-ms-client-principal-name')?.trim();
  return name ? name.slice(0, 200) : undefined;
}

/**
 * Who decides an approval: the signed-in principal when the platform's authentication vouches for the
 * header, else the approver the link was minted for, else whoever holds the link.
 */
export function approverOf(
  request: HttpRequest,
  trustClientPrincipal: boolean,
  tokenApprover: string | undefined,
): string {
  return trustedPrincipal(request, trustClientPrincipal) ?? tokenApprover ?? 'approval link holder';
}

/**
 * Who is acting on a key-protected route: the platform's authenticated principal when the app trusts it
 * (GREENLIGHT_TRUST_CLIENT_PRINCIPAL=true behind App Service authentication), else the key that made the
 * call, named by a fingerprint (never its value). Headers a caller sets freely are never an identity.
 */
export function actorOf(request: HttpRequest, trustClientPrincipal: boolean): string {
  const principal = trustedPrincipal(request, trustClientPrincipal);
  if (principal) return principal;
  let key = request.headers.get('x-functions-key');
  if (!key) {
    try {
      key = new URL(request.url).searchParams.get('code');
    } catch {
      key = null;
    }
  }
  if (!key) return 'unidentified caller (no key on the request)';
  return `function key ${keyFingerprint(key)}`;
}

/** `#` and the first 8 hex digits of the key's SHA-256: tells keys apart in the audit, reveals nothing. */
export function keyFingerprint(key: string): string {
  return `#${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
}

/** Rollout ids are app names with a hash; anything else (`%`, slashes, 100+ characters) is refused early. */
const idPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

/** A 400 problem for an id that cannot name a rollout, or undefined when it may. */
export function badId(id: string): HttpResponseInit | undefined {
  if (idPattern.test(id)) return undefined;
  return problem({
    status: 400,
    type: 'invalid-id',
    title: 'Invalid rollout id',
    detail: `a rollout id is 1-100 letters, digits, '.', '_', ':' or '-', starting with a letter or digit; got ${JSON.stringify(id.length > 120 ? `${id.slice(0, 120)}…` : id)} (${id.length} characters)`,
  });
}
