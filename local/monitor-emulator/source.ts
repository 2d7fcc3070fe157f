import type { RequestRecord } from './requestLog';

/** A revision as the monitoring emulators read it: its answers and restarts over time. */
export interface MonitoredRevision {
  name: string;
  /** Records with `from < at <= to`, oldest first (a `RequestLog`, or a delayed view of one). */
  requests: { between(from: number, to: number): RequestRecord[] };
  restarts: { between(from: number, to: number): number[] };
}

/** A container app with its revisions, deleted apps excluded. */
export interface MonitoredApp {
  /** ARM id, as ARM spells it. */
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  revisions: MonitoredRevision[];
}

/** Where the monitoring emulators read the Container Apps emulator's live state. */
export interface MonitorSource {
  apps(): MonitoredApp[];
}

/** Per monitoring API, how late a request becomes visible, in ms. */
export interface IngestionDelays {
  metrics?: number;
  logs?: number;
  prometheus?: number;
}

/**
 * What the monitoring APIs have ingested: `source` without the records of the last `delayMs`, the way
 * Azure Monitor metrics land a minute or two late and Log Analytics rows 20 s to 3 min late. Gates that
 * judge a window ending "now" under-count against it; a window ending at a lag of `delayMs` or more does not.
 */
export function ingested(
  source: MonitorSource,
  delayMs: number,
  now: () => number = Date.now,
): MonitorSource {
  if (delayMs <= 0) return source;
  return {
    apps: () =>
      source.apps().map((app) => ({
        ...app,
        revisions: app.revisions.map((rev) => ({
          name: rev.name,
          requests: { between: (from, to) => rev.requests.between(from, Math.min(to, now() - delayMs)) },
          restarts: { between: (from, to) => rev.restarts.between(from, Math.min(to, now() - delayMs)) },
        })),
      })),
  };
}
