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

/**
 * Who decides an approval: the signed-in principal when the platform's authentication vouches for the
 * header, else the approver the link was minted for, else whoever holds the link.
 */
export function approverOf(
  request: HttpRequest,
  trustClientPrincipal: boolean,
  tokenApprover: string | undefined,
): string {
  const principal = trustClientPrincipal ? request.headers.get('x-ms-client-principal-name') : null;
  return principal ?? tokenApprover ?? 'approval link holder';
}

/** Who is acting: the platform's authenticated principal (App Service auth) when present. */
export function actorOf(request: HttpRequest): string {
  return (
    request.headers.get('x-ms-client-principal-name') ??
    request.headers.get('x-greenlight-actor') ??
    'operator (function key)'
  );
}
