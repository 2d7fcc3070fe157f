import type { SmokeCheck, SmokeReport } from '../rollout/types';

/** Endpoint checks a revision must answer before and while it takes traffic. */
export interface SmokeProber {
  /** A failed check is a result (`passed: false`), not a rejection; only the prober itself failing throws. */
  run(
    baseUrl: string,
    checks: SmokeCheck[],
    dependencies?: { path: string; expectStatus: number[] },
  ): Promise<SmokeReport>;
}
