import * as df from 'durable-functions';
import { services } from '../composition';
import { GreenlightError } from '../domain/errors';
import { Activities } from '../names';
import { createApprovalLinks } from '../services/approvals';

df.app.activity(Activities.createApprovalLinks, {
  handler: (input: { rolloutId: string; expiresAt: number }) => {
    const { approval } = services().config;
    if (!approval.publicBaseUrl) {
      throw new GreenlightError(
        'InvalidConfiguration',
        'cannot build an approval link: set GREENLIGHT_PUBLIC_BASE_URL (or run where WEBSITE_HOSTNAME is set)',
      );
    }
    return createApprovalLinks(approval.publicBaseUrl, approval.signingKey, input.rolloutId, input.expiresAt);
  },
});
