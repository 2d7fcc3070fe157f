import { parseImage } from './rules';

/** How a simulated revision behaves, chosen by words in its image tag (e.g. `web:v2-crash`). */
export interface ImageBehaviour {
  /** `crash`: the container exits; provisioning fails. */
  crash: boolean;
  /** `unhealthy`: provisioned, but health probes fail. */
  unhealthy: boolean;
  /** `slow`: every answer is delayed. */
  slow: boolean;
  /** `err5` / `errors`: a share of answers are 5xx. */
  errors: boolean;
  /** `depfail`: `/dependencies` reports a failed dependency. */
  depfail: boolean;
  /** `drops` (TCP workload): loses every 10th frame, so its output has holes. */
  drops: boolean;
  /** `malformed` (TCP workload): writes records without `receivedAt`. */
  malformed: boolean;
  /** `nolease` (TCP workload): never takes a lease, so it never processes. */
  nolease: boolean;
  /** `stall` (TCP workload): 2 s after it starts processing production, stops writing but keeps lease and heartbeat. */
  stall: boolean;
}

export function imageTag(image: string): string {
  const ref = parseImage(image);
  return ref?.tag ?? ref?.digest ?? 'latest';
}

export function behaviourOf(image: string): ImageBehaviour {
  const tag = imageTag(image).toLowerCase();
  return {
    crash: tag.includes('crash'),
    unhealthy: tag.includes('unhealthy'),
    slow: tag.includes('slow'),
    errors: tag.includes('err5') || tag.includes('errors'),
    depfail: tag.includes('depfail'),
    drops: tag.includes('drops'),
    malformed: tag.includes('malformed'),
    nolease: tag.includes('nolease'),
    stall: tag.includes('stall'),
  };
}

/** Why ACA would refuse this image reference, or undefined. */
export function imageProblem(image: unknown): string | undefined {
  if (typeof image !== 'string' || image === '') return 'image is required';
  if (!parseImage(image)) {
    return `'${image}' is not a valid image reference (expected [registry/]repository[:tag][@sha256:digest], lowercase)`;
  }
  return undefined;
}
