import type { RevisionInfo } from '../../src/domain/ports/containerApps';
import { assessReadiness, nextPollDelay } from '../../src/domain/rollout/readiness';

const healthy: RevisionInfo = {
  name: 'web--v2',
  active: true,
  provisioningState: 'Provisioned',
  runningState: 'Running',
  healthState: 'Healthy',
  replicas: 1,
  trafficWeight: 0,
};

describe('revision readiness', () => {
  it('is ready when provisioned, running and healthy', () => {
    expect(assessReadiness(healthy)).toEqual({ state: 'ready' });
  });

  it('waits while provisioning or before health is reported', () => {
    expect(assessReadiness({ ...healthy, provisioningState: 'Provisioning' }).state).toBe('pending');
    expect(assessReadiness({ ...healthy, runningState: 'Processing' }).state).toBe('pending');
    expect(assessReadiness({ ...healthy, healthState: 'None' }).state).toBe('pending');
  });

  it('fails fast on a failed, degraded, unhealthy or inactive revision, saying why', () => {
    const failed = assessReadiness({
      ...healthy,
      provisioningState: 'Failed',
      provisioningError: 'container exited with code 1',
    });
    expect(failed).toEqual({
      state: 'failed',
      message: 'revision web--v2 failed to provision: container exited with code 1',
    });
    expect(assessReadiness({ ...healthy, runningState: 'Degraded' }).state).toBe('failed');
    expect(assessReadiness({ ...healthy, healthState: 'Unhealthy' }).state).toBe('failed');
    expect(assessReadiness({ ...healthy, active: false }).state).toBe('failed');
  });

  it('backs off polling up to four times the interval', () => {
    expect(nextPollDelay(1000, 0)).toBe(1000);
    expect(nextPollDelay(1000, 1)).toBe(1500);
    expect(nextPollDelay(1000, 10)).toBe(4000);
  });
});
