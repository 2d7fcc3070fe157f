import { parseImageReference } from './revisionSuffix';

/**
 * A container image Greenlight can deploy, parsed once where it enters (Event Grid push or HTTP request)
 * and carried as this value: registry, repository, tag and/or digest, and the reference text to deploy.
 */
export interface ImageRef {
  /** Registry host (with port), lower-cased: `contoso.azurecr.io`. */
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  /** `sha256:<64 hex>` when known (from the reference or the push). */
  readonly digest?: string;
  /** The reference as deployed: `registry/repository[:tag][@digest]`. */
  readonly reference: string;
}

export type ParsedImage = { ok: true; image: ImageRef } | { ok: false; message: string };

const digestPattern = /^sha256:[a-f0-9]{64}$/;

/**
 * Parses `registry/repository:tag[@sha256:...]` (plus an optional separate digest, as pushes and API
 * callers give it). A registry and a tag or digest are required: nothing is implied (no docker.io, no latest).
 */
export function parseImage(text: string, digest?: string): ParsedImage {
  if (text.length > 1024) {
    return { ok: false, message: `image must be at most 1024 characters; got ${text.length}` };
  }
  const ref = parseImageReference(text);
  if (!ref || ref.registry === undefined || (ref.tag === undefined && ref.digest === undefined)) {
    return {
      ok: false,
      message: `image must name a registry, a repository and a tag or digest, e.g. contoso.azurecr.io/web:1.4.2; got '${text}'`,
    };
  }
  if (digest !== undefined && !digestPattern.test(digest)) {
    return {
      ok: false,
      message: `digest must be sha256: followed by 64 lower-case hex digits; got '${digest}'`,
    };
  }
  if (digest !== undefined && ref.digest !== undefined && digest !== ref.digest) {
    return {
      ok: false,
      message: `digest '${digest}' differs from the digest in the image reference '${ref.digest}'; give one digest`,
    };
  }
  return { ok: true, image: imageOf(ref.registry, ref.repository, ref.tag, digest ?? ref.digest, text) };
}

/** The value for a push whose parts arrive separately (an ACR event). */
export function imageFromParts(parts: {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}): ParsedImage {
  const text = `${parts.registry}/${parts.repository}${parts.tag ? `:${parts.tag}` : ''}${parts.digest ? `@${parts.digest}` : ''}`;
  return parseImage(text);
}

function imageOf(
  registry: string,
  repository: string,
  tag: string | undefined,
  digest: string | undefined,
  reference: string,
): ImageRef {
  return {
    registry: registry.toLowerCase(),
    repository,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
    reference,
  };
}

/** `registry/repository:tag` without a digest: what a person calls the image. */
export function imageName(image: ImageRef): string {
  return `${image.registry}/${image.repository}${image.tag !== undefined ? `:${image.tag}` : ''}`;
}

/**
 * Whether two requests mean the same image: by digest when both know it, else by registry, repository
 * and tag. A push (tag and digest) and a CI request (tag only) for the same build are the same image.
 */
export function sameImage(a: ImageRef, b: ImageRef): boolean {
  if (a.digest !== undefined && b.digest !== undefined) return a.digest === b.digest;
  if (a.tag === undefined || b.tag === undefined) return false;
  return a.registry === b.registry && a.repository === b.repository && a.tag === b.tag;
}

/** Stable text that names the image for hashing (rollout ids): the digest when known, else the name. */
export function imageIdentity(image: ImageRef): string {
  return image.digest ?? imageName(image);
}
