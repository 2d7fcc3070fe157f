import { z } from 'zod';
import { ArmHttpError } from './armError';

/**
 * ARM wire shapes for Microsoft.App/containerApps (JSON nests under `properties`). Request bodies are checked
 * for types only; fields the emulator does not model pass through and are stored as sent.
 */
const envVar = z.looseObject({
  name: z.string(),
  value: z.string().optional(),
  secretRef: z.string().optional(),
});

const container = z.looseObject({
  name: z.string().optional(),
  image: z.string().optional(),
  env: z.array(envVar).optional(),
});

const trafficWeight = z.looseObject({
  revisionName: z.string().optional(),
  weight: z.number().optional(),
  latestRevision: z.boolean().optional(),
  label: z.string().optional(),
});

const ingress = z.looseObject({
  external: z.boolean().optional(),
  targetPort: z.number().optional(),
  transport: z.string().optional(),
  traffic: z.array(trafficWeight).optional(),
});

const configuration = z.looseObject({
  activeRevisionsMode: z.string().optional(),
  ingress: ingress.optional(),
});

const template = z.looseObject({
  revisionSuffix: z.string().optional(),
  containers: z.array(container).optional(),
  scale: z.looseObject({ minReplicas: z.number().optional(), maxReplicas: z.number().optional() }).optional(),
});

export const containerAppBody = z.looseObject({
  location: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  properties: z
    .looseObject({
      managedEnvironmentId: z.string().optional(),
      environmentId: z.string().optional(),
      configuration: configuration.optional(),
      template: template.optional(),
    })
    .optional(),
});

export type WireTrafficWeight = z.infer<typeof trafficWeight>;
export type WireIngress = z.infer<typeof ingress>;
export type WireConfiguration = z.infer<typeof configuration>;
export type WireTemplate = z.infer<typeof template>;
export type WireContainer = z.infer<typeof container>;
export type ContainerAppBody = z.infer<typeof containerAppBody>;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Drops nulls (JSON merge patch "remove") and undefined, recursively. */
export function withoutNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => withoutNulls(v)) as T;
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = withoutNulls(v);
  return out as T;
}

/** RFC 7386 JSON merge patch: objects merge, null removes, anything else (arrays too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

/** JSON with sorted keys and no null/undefined, for "is this the same template" comparisons. */
export function canonicalJson(value: unknown): string {
  const sort = (v: unknown): Json => {
    if (Array.isArray(v)) return v.map(sort);
    if (!isPlainObject(v)) return v as Json;
    const out: { [k: string]: Json } = {};
    for (const k of Object.keys(v).sort()) {
      const item = v[k];
      if (item !== null && item !== undefined) out[k] = sort(item);
    }
    return out;
  };
  return JSON.stringify(sort(value));
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Parses a PUT/PATCH body into the app shape, or throws ARM's 400 naming the bad field. */
export function parseAppBody(body: unknown): ContainerAppBody {
  if (!isPlainObject(body)) {
    throw new ArmHttpError(400, 'InvalidRequestContent', 'The request content must be a JSON object.');
  }
  const parsed = containerAppBody.safeParse(withoutNulls(body));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.join('.') : '';
    throw new ArmHttpError(
      400,
      'InvalidRequestContent',
      `The request content was invalid and could not be deserialized: '${where}': ${issue?.message ?? 'invalid'}.`,
    );
  }
  return parsed.data;
}
