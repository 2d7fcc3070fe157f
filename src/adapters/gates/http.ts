import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { DeadlineExceeded } from './sdk';

export interface HttpCallOptions {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** PEM of a CA to trust for this request (https only). */
  ca?: string;
  timeoutMs: number;
  /** Answers larger than this are refused; default 1 MiB. */
  maxBytes?: number;
}

export interface HttpAnswer {
  status: number;
  contentType: string;
  text: string;
}

/**
 * One HTTP(S) exchange with a deadline and a size cap. Node's https (not fetch) so that a CA can be trusted
 * per request, as the Azure SDK clients do through their pipeline.
 */
export function httpCall(url: string, opts: HttpCallOptions): Promise<HttpAnswer> {
  const target = new URL(url);
  const send =
    target.protocol === 'https:' ? httpsRequest : target.protocol === 'http:' ? httpRequest : undefined;
  if (!send) return Promise.reject(new Error(`unsupported URL scheme in '${url}' (use http or https)`));
  const maxBytes = opts.maxBytes ?? 1024 * 1024;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, opts.timeoutMs);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      reject(timedOut ? new DeadlineExceeded(opts.timeoutMs) : e);
    };
    const req = send(
      target,
      {
        method: opts.method,
        headers: {
          accept: 'application/json',
          ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}),
          ...opts.headers,
        },
        signal: controller.signal,
        ...(opts.ca && target.protocol === 'https:' ? { ca: opts.ca } : {}),
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            res.destroy(new Error(`the answer is larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    req.on('error', fail);
    req.end(opts.body);
  });
}
