import type { RevisionScope } from '../ports/containerApps';

/** One revision-scope field that differs between blue and green, e.g. `containers[web].env.API_URL`. */
export interface DriftField {
  field: string;
  blue: unknown;
  green: unknown;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Which revision-scope fields differ between blue's template and green's: env values and secret refs
 * (per variable), resources, probes, and scale (min, max, rules). The image of the rolled-out container
 * is the intended change and is left out; other containers' images count.
 */
export function driftBetween(
  blue: RevisionScope,
  green: RevisionScope,
  containerName: string | undefined,
): DriftField[] {
  const out: DriftField[] = [];
  const target = containerName ?? green.containers[0]?.name;
  const names = [...new Set([...blue.containers.map((c) => c.name), ...green.containers.map((c) => c.name)])];
  for (const name of names) {
    const b = blue.containers.find((c) => c.name === name);
    const g = green.containers.find((c) => c.name === name);
    const at = `containers[${name}]`;
    if (!b || !g) {
      out.push({ field: at, blue: b ? 'present' : 'absent', green: g ? 'present' : 'absent' });
      continue;
    }
    if (name !== target && b.image !== g.image)
      out.push({ field: `${at}.image`, blue: b.image, green: g.image });
    const vars = [...new Set([...b.env.map((e) => e.name), ...g.env.map((e) => e.name)])].sort();
    for (const v of vars) {
      const be = b.env.find((e) => e.name === v);
      const ge = g.env.find((e) => e.name === v);
      if (be?.secretRef !== ge?.secretRef) {
        out.push({ field: `${at}.env.${v}.secretRef`, blue: be?.secretRef, green: ge?.secretRef });
      } else if (be?.value !== ge?.value || !be !== !ge) {
        // Values may be sensitive: say that they differ, not what they are.
        out.push({
          field: `${at}.env.${v}`,
          blue: be ? 'set' : 'absent',
          green: ge ? (be ? 'changed' : 'set') : 'absent',
        });
      }
    }
    if (!same(b.resources ?? {}, g.resources ?? {})) {
      out.push({ field: `${at}.resources`, blue: b.resources, green: g.resources });
    }
    if (!same(b.probes, g.probes)) out.push({ field: `${at}.probes`, blue: b.probes, green: g.probes });
  }
  for (const key of ['minReplicas', 'maxReplicas'] as const) {
    if (blue.scale[key] !== green.scale[key]) {
      out.push({ field: `scale.${key}`, blue: blue.scale[key], green: green.scale[key] });
    }
  }
  if (!same(blue.scale.rules, green.scale.rules)) {
    out.push({ field: 'scale.rules', blue: blue.scale.rules, green: green.scale.rules });
  }
  return out;
}
