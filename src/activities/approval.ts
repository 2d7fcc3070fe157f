import type { RolloutPorts } from '../domain/ports';
import type { ActivityHandlers } from './contract';

export function approvalActivities(ports: RolloutPorts): Pick<ActivityHandlers, 'createApprovalLinks'> {
  return {
    createApprovalLinks: async (input) => ports.approvalLinks.create(input.rolloutId, input.expiresAt),
  };
}
