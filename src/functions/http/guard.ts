import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { randomUUID } from 'node:crypto';
import { problem } from './problem';

type Handler = (
  request: HttpRequest,
  client: DurableClient,
  context: InvocationContext,
) => Promise<HttpResponseInit>;

/**
 * What a caller sees when a dependency (Redis, the Durable task hub) fails mid-request: a 503 problem to
 * retry, with an id to find the logged error by. The error itself is only logged: its message may carry
 * internal URLs or keys (the Durable client's errors quote whole responses).
 */
export function guarded(handler: Handler): Handler {
  return async (request, client, context) => {
    try {
      return await handler(request, client, context);
    } catch (e) {
      const incident = randomUUID();
      context.error(
        `${request.method} ${new URL(request.url).pathname} failed (incident ${incident}): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
      );
      const reply = problem({
        status: 503,
        type: 'temporarily-unavailable',
        title: 'Temporarily unavailable',
        detail: `Greenlight could not complete the request: its state store or task hub did not answer. Retry shortly (a repeated request is safe); incident ${incident} is in the logs.`,
        incident,
      });
      return { ...reply, headers: { ...(reply.headers as Record<string, string>), 'retry-after': '5' } };
    }
  };
}
