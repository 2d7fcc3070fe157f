import picomatch from 'picomatch';
import { imageName, type ImageRef } from '../image';
import { findPoliciesForImage, type Policy } from '../policy';

export type ImageVerdict = { allowed: true; rule: string } | { allowed: false; rule: string; detail: string };

/**
 * Whether a policy lets an HTTP request roll `image` out: the image must match the policy's trigger
 * (registry, repository glob, tag globs), as a push would, or one of its `allowedImages` globs over
 * `registry/repository:tag`. A policy with neither allows nothing: a leaked key must not deploy anything.
 */
export function imageAllowed(policy: Policy, image: ImageRef): ImageVerdict {
  const t = policy.trigger;
  if (t && findPoliciesForImage([policy], image).length === 1) {
    return { allowed: true, rule: 'trigger' };
  }
  const name = imageName(image);
  const allowed = policy.allowedImages ?? [];
  const hit = allowed.find((g) => picomatch.isMatch(name, g, { dot: true }));
  if (hit !== undefined) return { allowed: true, rule: `allowedImages '${hit}'` };
  const triggerText = t
    ? `trigger (registry ${t.registry ?? 'any'}, repository '${t.repository}', tags ${t.tags.map((g) => `'${g}'`).join(', ')})`
    : undefined;
  const rules = [
    ...(triggerText ? [triggerText] : []),
    ...(allowed.length > 0 ? [`allowedImages (${allowed.map((g) => `'${g}'`).join(', ')})`] : []),
  ];
  const rule = rules.length > 0 ? rules.join(' or ') : 'no trigger and no allowedImages';
  return {
    allowed: false,
    rule,
    detail:
      rules.length > 0
        ? `image '${name}' matches neither the policy '${policy.name}' ${rule}; push a matching image or add it to the policy's allowedImages`
        : `policy '${policy.name}' has no trigger and no allowedImages, so it allows no image over HTTP; add one of them to the policy`,
  };
}
