import type { WebhookPoster, WebhookResponse } from '../../domain/ports/notify';

const maxBodyChars = 500;

/** POSTs with Node's fetch; redirects are not followed, so a moved webhook is a visible failure. */
export class FetchWebhookPoster implements WebhookPoster {
  async post(request: {
    url: string;
    headers: Record<string, string>;
    body: string;
    timeoutMs: number;
  }): Promise<WebhookResponse> {
    const res = await fetch(request.url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    const retryAfter = res.headers.get('retry-after');
    return {
      status: res.status,
      ...(retryAfter !== null ? { retryAfter } : {}),
      bodyPrefix: await bodyPrefix(res),
    };
  }
}

/** Reads at most a few hundred characters and drops the rest, so a huge error page costs nothing. */
async function bodyPrefix(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < maxBodyChars) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // a broken body still leaves the status to report
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text.slice(0, maxBodyChars);
}
