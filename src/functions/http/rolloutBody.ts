import { z } from 'zod';

/** A rollout request's body, for a real run and for its dry run alike. */
export const rolloutRequestBody = z
  .object({
    app: z.string().min(1, 'name the app: its policy name, app name, or subscriptionId/resourceGroup/name'),
    image: z.string().min(1, 'give the image as registry/repository:tag (optionally @sha256:digest)'),
    digest: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256: followed by 64 lowercase hex digits')
      .optional(),
    /** `{ reason, rolloutId? }`: start although production is closed; recorded under the caller's identity. */
    override: z.unknown().optional(),
  })
  .strict();
