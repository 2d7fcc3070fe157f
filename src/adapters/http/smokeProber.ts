import { joinUrl } from '../../domain/guardrails/probe';
import type { SmokeProber } from '../../domain/ports/smoke';
import type { CheckResult, SmokeCheck, SmokeReport } from '../../domain/rollout/types';

const maxBodyBytes = 64 * 1024;

/**
 * Smoke checks over plain fetch. A failed check is a result, not an exception: the orchestrator branches
 * on it instead of burning activity retries. Each check retries on its own (a cold replica's first answer
 * may be slow) and must pass once within its latency budget.
 */
export class FetchSmokeProber implements SmokeProber {
  constructor(private readonly retryDelayMs = 500) {}

  async run(
    baseUrl: string,
    checks: SmokeCheck[],
    dependencies?: { path: string; expectStatus: number[] },
  ): Promise<SmokeReport> {
    const all: SmokeCheck[] = [...checks];
    if (dependencies) {
      all.push({
        name: 'dependencies',
        path: dependencies.path,
        method: 'GET',
        expectStatus: dependencies.expectStatus,
        latencyBudgetMs: 5_000,
        retries: 1,
      });
    }
    const results: CheckResult[] = [];
    for (const check of all) results.push(await this.runOne(baseUrl, check));
    return { passed: results.every((r) => r.ok), url: baseUrl, results };
  }

  private async runOne(baseUrl: string, check: SmokeCheck): Promise<CheckResult> {
    let last: CheckResult = { name: check.name, ok: false, message: 'not run' };
    for (let attempt = 0; attempt <= check.retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.retryDelayMs));
      last = await this.attempt(baseUrl, check);
      if (last.ok) return last;
    }
    return { ...last, message: `${last.message} (after ${check.retries + 1} attempt(s))` };
  }

  private async attempt(baseUrl: string, check: SmokeCheck): Promise<CheckResult> {
    // Appended, not resolved: a probe endpoint's base carries a path of its own (`https://gw/{fqdn}`).
    const url = joinUrl(baseUrl, check.path);
    const started = performance.now();
    try {
      // The budget plus headroom: a slow answer is reported as over budget, a hung one is cut off.
      const res = await fetch(url, {
        method: check.method,
        signal: AbortSignal.timeout(check.latencyBudgetMs * 2 + 1000),
        redirect: 'manual',
      });
      const body =
        check.bodyContains === undefined ? await discard(res) : await bodyPrefix(res, maxBodyBytes);
      const latencyMs = Math.round(performance.now() - started);
      const base = { name: check.name, status: res.status, latencyMs };
      if (!check.expectStatus.includes(res.status)) {
        return {
          ...base,
          ok: false,
          message: `${check.method} ${check.path} returned ${res.status}, expected ${check.expectStatus.join(' or ')}`,
        };
      }
      if (check.bodyContains !== undefined && !body.includes(check.bodyContains)) {
        return {
          ...base,
          ok: false,
          message: `${check.method} ${check.path} body does not contain '${check.bodyContains}'`,
        };
      }
      if (latencyMs > check.latencyBudgetMs) {
        return {
          ...base,
          ok: false,
          message: `${check.method} ${check.path} took ${latencyMs} ms, budget ${check.latencyBudgetMs} ms`,
        };
      }
      return { ...base, ok: true, message: `${res.status} in ${latencyMs} ms` };
    } catch (e) {
      const latencyMs = Math.round(performance.now() - started);
      const reason = e instanceof Error ? (e.name === 'TimeoutError' ? 'timed out' : e.message) : String(e);
      return { name: check.name, ok: false, latencyMs, message: `${check.method} ${url} failed: ${reason}` };
    }
  }
}

/** A check that does not look at the body must not wait for a large or endless one to arrive. */
async function discard(res: Response): Promise<string> {
  await res.body?.cancel().catch(() => undefined);
  return '';
}

/** The first `limit` bytes of the body as text; the rest is not downloaded. */
async function bodyPrefix(res: Response, limit: number): Promise<string> {
  if (!res.body) return '';
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
