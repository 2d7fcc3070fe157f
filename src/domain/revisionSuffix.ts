import { createHash } from 'node:crypto';
import { GreenlightError } from './errors';

/**
 * Revision naming rules of Azure Container Apps. ACA rejects a revision name that is not lowercase
 * alphanumerics and single hyphens starting with a letter ("ContainerAppInvalidRevisionName"), and a
 * revision name `<app>--<suffix>` longer than 54 characters combined. App names are at most 32 characters,
 * so a suffix of at most 20 characters fits every app.
 */
export const maxRevisionNameLength = 54;
export const maxAppNameLength = 32;
export const maxRevisionSuffixLength = maxRevisionNameLength - maxAppNameLength - '--'.length;

const suffixPattern = /^[a-z](?:[a-z0-9-]*[a-z0-9])?$/;

export interface ImageReference {
  /** Registry host (with port), when the first path part names one (has '.', ':' or is localhost). */
  registry?: string;
  repository: string;
  tag?: string;
  /** `sha256:<64 hex>` when the reference pins a digest. */
  digest?: string;
}

const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const hostPart = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const domain = `${hostPart}(?:\\.${hostPart})*(?::[0-9]+)?`;
const referencePattern = new RegExp(
  `^(?:(${domain})/)?(${component}(?:/${component})*)(?::([\\w][\\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`,
);

/** Parses a container image reference (distribution grammar); undefined when it is not one. */
export function parseImageReference(image: string): ImageReference | undefined {
  const m = referencePattern.exec(image);
  if (!m) return undefined;
  const [, first, path, tag, digest] = m;
  if (path === undefined) return undefined;
  // Docker's rule: the first part is a registry only if it looks like a host.
  const isRegistry =
    first !== undefined && (first.includes('.') || first.includes(':') || first === 'localhost');
  return {
    registry: isRegistry ? first : undefined,
    repository: first !== undefined && !isRegistry ? `${first}/${path}` : path,
    tag,
    digest,
  };
}

/** A reference Greenlight deploys: a registry, a repository and a tag or digest (nothing implied). */
export function isFullyQualifiedImage(image: string): boolean {
  const ref = parseImageReference(image);
  return (
    ref !== undefined && ref.registry !== undefined && (ref.tag !== undefined || ref.digest !== undefined)
  );
}

/** Why `<appName>--<suffix>` is not a valid ACA revision name, or undefined when it is. */
export function revisionNameProblem(appName: string, suffix: string): string | undefined {
  if (!suffixPattern.test(suffix) || suffix.includes('--')) {
    return `revision suffix must be lowercase letters, digits and single hyphens, start with a letter and end with a letter or digit; got '${suffix}'`;
  }
  const name = `${appName}--${suffix}`;
  if (name.length > maxRevisionNameLength) {
    return `revision name '${name}' is ${name.length} characters; ACA allows at most ${maxRevisionNameLength} for app name, '--' and suffix combined`;
  }
  return undefined;
}

function slug(text: string, max: number): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, max)
    .replace(/-+$/, '');
}

/**
 * The revision suffix for an image: deterministic (the same image, or the same digest, always gives the same
 * suffix, so a retried deploy finds its revision), readable (`gl-<tag>-<hash>`) and valid for every app name.
 * The hash is of the digest when known, else of the whole reference.
 */
export function revisionSuffixFor(image: string, digest?: string): string {
  const ref = parseImageReference(image);
  if (!ref) {
    throw new GreenlightError(
      'InvalidRequest',
      `image must be a container image reference (registry/repo:tag or registry/repo@sha256:...); got '${image}'`,
      { image },
    );
  }
  const hash = createHash('sha256')
    .update(digest ?? ref.digest ?? image)
    .digest('hex')
    .slice(0, 8);
  const prefix = 'gl-';
  const tagSlug = slug(ref.tag ?? '', maxRevisionSuffixLength - prefix.length - hash.length - 1);
  return tagSlug ? `${prefix}${tagSlug}-${hash}` : `${prefix}${hash}`;
}
