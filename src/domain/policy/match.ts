import picomatch from 'picomatch';
import type { Policy } from './schema';

export interface PushedImage {
  /** Registry login server, e.g. contoso.azurecr.io. */
  registry?: string;
  repository: string;
  tag?: string;
}

function tagMatches(globs: string[], tag: string | undefined): boolean {
  // A push without a tag (digest only) matches only policies that take every tag.
  if (tag === undefined) return globs.length === 1 && globs[0] === '*';
  const include = globs.filter((g) => !g.startsWith('!'));
  const exclude = globs.filter((g) => g.startsWith('!')).map((g) => g.slice(1));
  const included = include.length === 0 || picomatch.isMatch(tag, include, { dot: true });
  return included && !picomatch.isMatch(tag, exclude, { dot: true });
}

/** Policies whose trigger matches a pushed image (registry, repository glob, tag globs). */
export function findPoliciesForImage(policies: Policy[], image: PushedImage): Policy[] {
  return policies.filter((p) => {
    const t = p.trigger;
    if (!t) return false;
    if (t.registry && image.registry && t.registry.toLowerCase() !== image.registry.toLowerCase())
      return false;
    if (t.registry && !image.registry) return false;
    if (!picomatch.isMatch(image.repository, t.repository, { dot: true })) return false;
    return tagMatches(t.tags, image.tag);
  });
}

/**
 * The policy an HTTP caller means: by policy name, by app name (when only one policy targets an app
 * of that name), or by `subscriptionId/resourceGroup/name`.
 */
export function findPolicyByApp(policies: Policy[], app: string): Policy | undefined {
  const wanted = app.trim().toLowerCase();
  const byName = policies.find((p) => p.name === wanted);
  if (byName) return byName;
  const byPath = policies.find(
    (p) => `${p.app.subscriptionId}/${p.app.resourceGroup}/${p.app.name}`.toLowerCase() === wanted,
  );
  if (byPath) return byPath;
  const byApp = policies.filter((p) => p.app.name === wanted);
  return byApp.length === 1 ? byApp[0] : undefined;
}
