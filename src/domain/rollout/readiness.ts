import type { RevisionInfo } from '../ports/containerApps';

export type Readiness =
  { state: 'ready' } | { state: 'pending'; message: string } | { state: 'failed'; message: string };

/** Whether a revision may take work: provisioned, running and healthy. Failed or degraded fails fast. */
export function assessReadiness(rev: RevisionInfo): Readiness {
  const where = `revision ${rev.name}`;
  if (rev.provisioningState === 'Failed') {
    return {
      state: 'failed',
      message: `${where} failed to provision: ${rev.provisioningError ?? 'no reason given'}`,
    };
  }
  if (rev.runningState === 'Failed' || rev.runningState === 'Degraded') {
    return {
      state: 'failed',
      message: `${where} is ${rev.runningState} (health ${rev.healthState ?? 'unknown'})`,
    };
  }
  if (rev.healthState === 'Unhealthy') {
    return {
      state: 'failed',
      message: `${where} is Unhealthy (running state ${rev.runningState ?? 'unknown'})`,
    };
  }
  if (!rev.active) return { state: 'failed', message: `${where} is not active` };
  if (rev.provisioningState !== 'Provisioned') {
    return { state: 'pending', message: `${where} is ${rev.provisioningState ?? 'provisioning'}` };
  }
  if (rev.runningState !== 'Running') {
    return { state: 'pending', message: `${where} is ${rev.runningState ?? 'starting'}` };
  }
  if (rev.healthState !== 'Healthy') {
    return { state: 'pending', message: `${where} health is ${rev.healthState ?? 'not yet reported'}` };
  }
  return { state: 'ready' };
}

/** Readiness polling backs off from the policy's interval up to 4x, so long provisioning costs few polls. */
export function nextPollDelay(pollIntervalMs: number, attempt: number): number {
  return Math.min(pollIntervalMs * Math.pow(1.5, attempt), pollIntervalMs * 4);
}
