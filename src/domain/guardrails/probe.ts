/**
 * Where smoke checks reach green. Pure: the activity turns this into a URL, the orchestrator decides
 * which host green is validated at (its revision FQDN, or in Labels mode its label FQDN).
 */

/** Placeholders a `guardrails.probeEndpoint` template may use. */
export const probePlaceholders = ['fqdn', 'revisionFqdn', 'revision', 'app'] as const;
export type ProbePlaceholder = (typeof probePlaceholders)[number];

/** What smoke checks address: the host green is validated at, and what a probe endpoint may need. */
export interface SmokeTarget {
  /** Host green is validated at (no scheme): its label FQDN in Labels mode, else its revision FQDN. */
  fqdn?: string;
  /** Green's own revision FQDN, when it differs from `fqdn`. */
  revisionFqdn?: string;
  /** Green's revision name, e.g. `web--v2`. */
  revision?: string;
  app?: string;
  /** `guardrails.probeEndpoint`: a URL template green is reached through from outside its environment. */
  probeEndpoint?: string;
}

/** The placeholders in `template` that are not known, e.g. `{host}`. */
export function unknownPlaceholders(template: string): string[] {
  const found = [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1] ?? '');
  return found.filter((p) => !(probePlaceholders as readonly string[]).includes(p));
}

/** Whether the template names green at all: without `{fqdn}`, `{revisionFqdn}` or `{revision}` it cannot. */
export function addressesRevision(template: string): boolean {
  return /\{(fqdn|revisionFqdn|revision)\}/.test(template);
}

/**
 * The base URL smoke check paths are appended to, or why there is none. Through a probe endpoint, the
 * template's placeholders are filled in (`{fqdn}` is the host green is validated at); without one, the
 * host itself on `scheme`.
 */
export function smokeBaseUrl(
  target: SmokeTarget,
  scheme: 'https' | 'http',
): { url: string } | { problem: string } {
  if (target.probeEndpoint) {
    const values: Record<ProbePlaceholder, string | undefined> = {
      fqdn: target.fqdn ?? target.revisionFqdn,
      revisionFqdn: target.revisionFqdn ?? target.fqdn,
      revision: target.revision,
      app: target.app,
    };
    const missing = probePlaceholders.filter(
      (p) => target.probeEndpoint!.includes(`{${p}}`) && values[p] === undefined,
    );
    if (missing.length > 0) {
      return {
        problem: `guardrails.probeEndpoint uses {${missing.join('}, {')}}, which green does not have (enable ingress on the app)`,
      };
    }
    const url = target.probeEndpoint.replace(/\{(\w+)\}/g, (whole, name: string) =>
      (probePlaceholders as readonly string[]).includes(name)
        ? encodeURIComponent(values[name as ProbePlaceholder] ?? '').replace(/%3A/gi, ':')
        : whole,
    );
    return { url };
  }
  if (!target.fqdn) return { problem: 'green has no FQDN: enable ingress on the app' };
  return { url: `${scheme}://${target.fqdn}/` };
}

/** A check's path under a base URL that may carry a path of its own (a probe endpoint's `/{fqdn}`). */
export function joinUrl(base: string, path: string): string {
  const url = new URL(base);
  const extra = new URL(path, 'http://placeholder');
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${extra.pathname.replace(/^\/+/, '')}`;
  if (extra.search) url.search = extra.search;
  return url.toString();
}

/**
 * A label's FQDN in Labels revision mode: `<app>---<label>.<environment domain>`, derived from the app's
 * ingress FQDN `<app>.<environment domain>` (internal apps: `<app>.internal.<domain>`, and so their
 * labels). Undefined when the ingress FQDN does not have that shape (then green is addressed by its own
 * revision FQDN).
 */
export function labelFqdn(ingressFqdn: string | undefined, app: string, label: string): string | undefined {
  if (!ingressFqdn) return undefined;
  const prefix = `${app.toLowerCase()}.`;
  const host = ingressFqdn.toLowerCase();
  if (!host.startsWith(prefix) || host.length === prefix.length) return undefined;
  return `${app.toLowerCase()}---${label}.${host.slice(prefix.length)}`;
}
