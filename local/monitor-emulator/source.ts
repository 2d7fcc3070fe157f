import type { EventTimes, RequestLog } from './requestLog';

/** A revision as the monitoring emulators read it: its answers and restarts over time. */
export interface MonitoredRevision {
  name: string;
  requests: RequestLog;
  restarts: EventTimes;
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
