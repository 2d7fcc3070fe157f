import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { SeedApp } from './store';

export const seedAppSchema = z.object({
  subscriptionId: z.string().min(1),
  resourceGroup: z.string().min(1),
  name: z
    .string()
    .regex(
      /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/,
      'must be 2-32 lowercase letters, digits or hyphens, start with a letter and end with a letter or digit',
    ),
  image: z.string().min(1),
  revisionMode: z.enum(['Single', 'Multiple', 'Labels']).optional(),
  /** Labels mode: the label ACA gives each new revision (default 'stage'). */
  targetLabel: z.string().min(1).optional(),
  ingress: z
    .union([
      z.literal(false),
      z.object({
        external: z.boolean().optional(),
        targetPort: z.number().int().min(1).max(65535).optional(),
        transport: z.string().optional(),
      }),
    ])
    .optional(),
  location: z.string().min(1).optional(),
  containerName: z.string().min(1).optional(),
  env: z.record(z.string(), z.string()).optional(),
  revisionSuffix: z.string().min(1).optional(),
  traffic: z.enum(['latest', 'pinned']).optional(),
  labels: z.array(z.string().min(1)).optional(),
  workload: z
    .discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('http') }),
      z.strictObject({
        kind: z.literal('tcp'),
        source: z
          .strictObject({
            host: z.string().min(1).optional(),
            port: z.number().int().min(1).max(65535).optional(),
            frameIntervalMs: z.number().int().min(1).optional(),
          })
          .optional(),
      }),
    ])
    .optional(),
});

/** Validates seed apps (one app, an array, or `{apps: [...]}`); the error names the field at fault. */
export function parseSeedApps(input: unknown, source = 'seed'): SeedApp[] {
  const list: unknown[] = Array.isArray(input)
    ? input
    : typeof input === 'object' && input !== null && 'apps' in input && Array.isArray(input.apps)
      ? (input.apps as unknown[])
      : [input];
  return list.map((item, i) => {
    const parsed = seedAppSchema.safeParse(item);
    if (!parsed.success) {
      const problems = parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
      );
      throw new Error(`${source}: app #${i + 1} is invalid: ${problems.join('; ')}`);
    }
    return parsed.data;
  });
}

export async function readSeedFile(path: string): Promise<SeedApp[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read seed file '${path}': ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`seed file '${path}' is not valid JSON: ${(e as Error).message}`);
  }
  return parseSeedApps(json, path);
}
