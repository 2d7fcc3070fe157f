/**
 * The rules ACA's control plane applies to names and image references, written from its documentation and
 * error messages, never imported from Greenlight's own code: when Greenlight gets a rule wrong, the emulator
 * refuses its request as ACA would, and a test sees it.
 *
 * Sources:
 * - Revisions, "Revision name suffix" (learn.microsoft.com/azure/container-apps/revisions): a suffix consists
 *   of lower case alphanumeric characters or dashes, starts with an alphabetic character, ends with an
 *   alphanumeric character, has no two consecutive dashes, is at most 64 characters; the revision is named
 *   `<app>--<suffix>`.
 * - ACA's ContainerAppInvalidRevisionName error: "The length of the revision name must not be more than a
 *   combined 54 characters with the container app name." Read strictly here: `<app>--<suffix>` ≤ 54.
 * - Traffic splitting (learn.microsoft.com/azure/container-apps/traffic-splitting): the combined weight of
 *   all traffic rules must equal 100%; a rule names a revision by name, by `latestRevision`, and may carry a
 *   label (see `trafficRuleProblems`).
 * - Container images: the distribution reference grammar ACA passes to its container runtime
 *   (`[registry[:port]/]path[:tag][@algorithm:hex]`, lowercase path components, tags of at most 128 word
 *   characters, dots and dashes).
 */

export const maxRevisionNameLength = 54;
export const maxRevisionSuffixLength = 64;

const lowerAlnum = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
const lowerAlpha = (c: string): boolean => c >= 'a' && c <= 'z';

/** Why ACA refuses `<appName>--<suffix>` as a revision name, or undefined when it accepts it. */
export function revisionNameProblem(appName: string, suffix: string): string | undefined {
  const chars = [...suffix];
  const problems: string[] = [];
  if (chars.length === 0) problems.push('is empty');
  if (chars.some((c) => !lowerAlnum(c) && c !== '-'))
    problems.push('holds characters other than a-z, 0-9 and -');
  if (chars.length > 0 && !lowerAlpha(chars[0] ?? '')) problems.push('does not start with a letter');
  if (chars.length > 0 && !lowerAlnum(chars[chars.length - 1] ?? ''))
    problems.push('does not end with a letter or digit');
  if (suffix.includes('--')) problems.push("holds '--'");
  if (chars.length > maxRevisionSuffixLength)
    problems.push(`is longer than ${maxRevisionSuffixLength} characters`);
  if (problems.length > 0) {
    return `Revision suffix '${suffix}' ${problems.join(', ')}: a revision name must consist of lower case alphanumeric characters or '-', start with an alphabetic character, end with an alphanumeric character and cannot have '--'`;
  }
  const name = `${appName}--${suffix}`;
  if (name.length > maxRevisionNameLength) {
    return `Revision name '${name}' is ${name.length} characters: the revision name must not be more than a combined ${maxRevisionNameLength} characters with the container app name`;
  }
  return undefined;
}

/** A revision label (`<app>---<label>` is its URL): a DNS label without '--', like a suffix. */
export function labelProblem(label: string): string | undefined {
  const chars = [...label];
  const ok =
    chars.length > 0 &&
    lowerAlpha(chars[0] ?? '') &&
    lowerAlnum(chars[chars.length - 1] ?? '') &&
    chars.every((c) => lowerAlnum(c) || c === '-') &&
    !label.includes('--');
  return ok
    ? undefined
    : `label '${label}' must be lowercase letters, digits and single hyphens, starting with a letter and ending with a letter or digit`;
}

export interface ParsedImage {
  registry?: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const hostLabel = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const digestPattern = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;

function isRegistryHost(part: string): boolean {
  const colon = part.lastIndexOf(':');
  const host = colon >= 0 ? part.slice(0, colon) : part;
  const port = colon >= 0 ? part.slice(colon + 1) : undefined;
  if (port !== undefined && !/^[0-9]+$/.test(port)) return false;
  return host.split('.').every((label) => hostLabel.test(label));
}

/** Reads an image reference the way the container runtime does; undefined when it is not one. */
export function parseImage(image: string): ParsedImage | undefined {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestPattern.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagPattern.test(tag)) return undefined;
  }
  const parts = rest.split('/');
  const first = parts[0] ?? '';
  // The first part names a registry only when it looks like a host: a dot, a port, or localhost.
  const hasRegistry =
    parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry && !isRegistryHost(first)) return undefined;
  const path = hasRegistry ? parts.slice(1) : parts;
  if (path.length === 0 || !path.every((p) => pathComponent.test(p))) return undefined;
  if (rest.length > 255) return undefined;
  return {
    ...(hasRegistry ? { registry: first } : {}),
    repository: path.join('/'),
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}
