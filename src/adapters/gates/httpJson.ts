import { GreenlightError } from '../../domain/errors';
import { readJsonPath } from '../../domain/gates/query';
import type { GateQuery, Measurement, MeasureTarget } from '../../domain/gates/types';
import { type ProviderCall, providerError, snippet, toProviderError } from './errors';
import { httpCall } from './http';
import type { GateProvider } from '../../domain/ports/gates';
import type { RenderQuery } from './render';

export interface HttpJsonProviderOptions {
  render: RenderQuery;
  timeoutMs: number;
  /** PEM of a CA to trust for https URLs (the emulators' certificate). */
  ca?: string;
}

/**
 * GETs the gate's URL (placeholders filled in) and reads the number at `jsonPath` in the JSON answer; the
 * sample size at the JSON path `sampleSize`. A path that is absent or not a number is no data.
 */
export class HttpJsonProvider implements GateProvider {
  constructor(private readonly opts: HttpJsonProviderOptions) {}

  async measure(query: GateQuery, target: MeasureTarget): Promise<Measurement> {
    if (!query.jsonPath) {
      throw new GreenlightError('InvalidRequest', 'an httpJson gate needs jsonPath, e.g. $.errors.rate');
    }
    const url = this.opts.render(query, { revision: target.revision, app: target.appName });
    let shown: URL;
    try {
      shown = new URL(url);
    } catch {
      throw new GreenlightError(
        'InvalidRequest',
        `an httpJson gate's query must be an http(s) URL; got '${url}'`,
      );
    }
    // The query string may carry a key: messages show the path only.
    shown.search = shown.search ? '?...' : '';
    const call: ProviderCall = {
      provider: 'httpJson',
      service: `GET ${shown.toString()}`,
      what: "the gate's numbers",
      authHint: 'The URL needs credentials; an httpJson gate sends none',
      notFoundHint: "Check the gate's URL",
    };
    let doc: unknown;
    try {
      const answer = await httpCall(url, { method: 'GET', ca: this.opts.ca, timeoutMs: this.opts.timeoutMs });
      if (answer.status < 200 || answer.status > 299) {
        throw providerError(call, answer.status, undefined, snippet(answer.text));
      }
      try {
        doc = JSON.parse(answer.text) as unknown;
      } catch {
        throw new GreenlightError(
          'InvalidRequest',
          `${call.service} answered ${answer.status} with something that is not JSON (${answer.contentType || 'no content type'}): ${snippet(answer.text)}`,
          { provider: call.provider, status: answer.status },
        );
      }
    } catch (e) {
      throw toProviderError(e, call);
    }
    const value = readJsonPath(doc, query.jsonPath);
    const sampleSize = query.sampleSize ? readJsonPath(doc, query.sampleSize) : undefined;
    return {
      ...(value !== undefined ? { value } : {}),
      ...(sampleSize !== undefined ? { sampleSize } : {}),
    };
  }
}
