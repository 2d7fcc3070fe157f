import { z } from 'zod';
import { addressesRevision, unknownPlaceholders } from './probe';

/**
 * What a policy does about each Container Apps setting that would make a textbook blue-green wrong
 * without an error. Defaults are the safe choice: refuse what cannot be done right, hold what can.
 */
export const guardrailsSchema = z
  .strictObject({
    /**
     * Sticky sessions (`ingress.stickySessions.affinity: sticky`) work only in Single revision mode, and
     * the traffic strategy needs Multiple. refuse: stop before any change. switchAffinity: set affinity
     * to none for the rollout, and back to sticky (with Single mode) once green holds all traffic.
     */
    stickySessions: z
      .enum(['refuse', 'switchAffinity'], { message: "must be 'refuse' or 'switchAffinity'" })
      .default('refuse'),
    /**
     * An app in Labels revision mode is never switched to Multiple. refuse: stop with the reason.
     * useLabels: roll out through the app's labels (green gets the target label, promotion moves it).
     */
    labelsMode: z
      .enum(['refuse', 'useLabels'], { message: "must be 'refuse' or 'useLabels'" })
      .default('refuse'),
    /**
     * A green that scales to zero has no replica to answer smoke checks. holdOneReplica: deploy green
     * with minReplicas 1 for validation and put the app's scale back as it was. refuse: stop.
     */
    scaleToZero: z
      .enum(['holdOneReplica', 'refuse'], { message: "must be 'holdOneReplica' or 'refuse'" })
      .default('holdOneReplica'),
    /**
     * Revision-scope changes made outside Greenlight since blue (env, secret refs, scale, probes,
     * resources): carry them into green and record them, carry them and warn, or refuse.
     */
    drift: z
      .enum(['carry', 'warn', 'refuse'], { message: "must be 'carry', 'warn' or 'refuse'" })
      .default('warn'),
    /**
     * Near ACA's inactive-revision limit: cleanup (retire per cleanup.keepRevisions first, naming what
     * ACA will purge) or refuse with the names.
     */
    revisionLimit: z
      .enum(['cleanup', 'refuse'], { message: "must be 'cleanup' or 'refuse'" })
      .default('cleanup'),
    /**
     * Where Greenlight reaches green when the app's ingress is internal (`external: false`): a URL template
     * for an address inside the environment's network (a gateway or jump host, a private endpoint, a
     * VNet-integrated proxy). `{fqdn}` is the host green is validated at (its revision FQDN, e.g.
     * `web--v2.internal.<env domain>`; in Labels mode its label FQDN), `{revisionFqdn}` its revision FQDN,
     * `{revision}` its name, `{app}` the app's; check paths are appended. Used by every smoke check when
     * set. Without it, an internal app with smoke checks is refused.
     */
    probeEndpoint: z
      .string()
      .regex(/^https?:\/\/[^\s/]+/, 'must be an http(s) URL such as https://gateway.internal/{fqdn}')
      .refine((v) => unknownPlaceholders(v).length === 0, {
        message: 'knows only the placeholders {fqdn}, {revisionFqdn}, {revision} and {app}',
        abort: true,
      })
      .refine(addressesRevision, {
        message:
          'must name green with {fqdn}, {revisionFqdn} or {revision} (e.g. https://gateway.internal/{fqdn}), or every revision would get the same address',
      })
      .optional(),
  })
  .prefault({});

export type GuardrailSettings = z.infer<typeof guardrailsSchema>;
