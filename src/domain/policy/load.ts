import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { GreenlightError } from '../errors';
import { isReleaseDocument, releaseSchema } from '../release/schema';
import type { ReleasePolicy } from '../release/types';
import { releaseProblems } from '../release/validate';
import { policySchema, type Policy } from './schema';

/** One policy source: a file's text (JSON is YAML too) and the name problems are reported under. */
interface Source {
  name: string;
  text: string;
}

/**
 * Loads every policy from a file, a folder of `.yaml`/`.yml`/`.json` files, or inline text. A
 * document may hold one policy, a list, or `{ policies: [...] }`. All problems in all sources are
 * collected and thrown as one `InvalidPolicy` error, each as `source: field.path: what is expected`.
 * Release documents (`kind: Release`) are validated too; `loadPolicySet` returns them.
 */
export async function loadPolicies(from: { path?: string; inline?: string }): Promise<Policy[]> {
  return (await loadPolicySet(from)).policies;
}

/** The app policies and the releases (`kind: Release`) over them, from the same sources, checked together. */
export interface PolicySet {
  policies: Policy[];
  releases: ReleasePolicy[];
}

/** Like `loadPolicies`, with the releases: one error lists every problem of both. */
export async function loadPolicySet(from: { path?: string; inline?: string }): Promise<PolicySet> {
  const sources: Source[] = [];
  const problems: string[] = [];
  if (from.inline) sources.push({ name: 'GREENLIGHT_POLICIES', text: from.inline });
  if (from.path) {
    try {
      sources.push(...(await readSources(from.path)));
    } catch (e) {
      problems.push(`${from.path}: cannot read (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  if (sources.length === 0 && problems.length === 0) {
    problems.push('no policy source: set GREENLIGHT_POLICIES_PATH or GREENLIGHT_POLICIES');
  }
  return checkedSet(
    sources.map((s) => parseSource(s, problems)),
    problems,
  );
}

/** Parses policies from text already in hand (tests, tools); throws like loadPolicies. */
export function parsePolicies(text: string, name = 'policy'): Policy[] {
  return parsePolicySet(text, name).policies;
}

/** Parses app policies and releases from text already in hand; throws like loadPolicySet. */
export function parsePolicySet(text: string, name = 'policy'): PolicySet {
  const problems: string[] = [];
  return checkedSet([parseSource({ name, text }, problems)], problems);
}

function checkedSet(parsed: PolicySet[], problems: string[]): PolicySet {
  const policies = parsed.flatMap((p) => p.policies);
  const releases = parsed.flatMap((p) => p.releases);
  problems.push(...crossPolicyProblems(policies));
  problems.push(...releaseProblems(releases, policies));
  throwIfProblems(problems);
  return { policies, releases };
}

/** One error listing every problem, so an operator fixes them all in one pass. */
function throwIfProblems(problems: string[]): void {
  if (problems.length === 0) return;
  throw new GreenlightError(
    'InvalidPolicy',
    `${problems.length} rollout policy problem(s):\n  - ${problems.join('\n  - ')}`,
    { problems },
  );
}

async function readSources(path: string): Promise<Source[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [{ name: path, text: await readFile(path, 'utf8') }];
  const files = (await readdir(path)).filter((f) => /\.(ya?ml|json)$/i.test(f)).sort();
  if (files.length === 0) throw new Error('the folder holds no .yaml, .yml or .json files');
  return Promise.all(
    files.map(async (f) => ({ name: join(path, f), text: await readFile(join(path, f), 'utf8') })),
  );
}

function parseSource(source: Source, problems: string[]): PolicySet {
  const docs = parseAllDocuments(source.text, { prettyErrors: false });
  const raws: { where: string; value: unknown }[] = [];
  for (const [d, doc] of (Array.isArray(docs) ? docs : [docs]).entries()) {
    const docName = docs.length > 1 ? `${source.name}#${d + 1}` : source.name;
    if (doc.errors.length > 0) {
      for (const err of doc.errors) problems.push(`${docName}: not valid YAML or JSON (${err.message})`);
      continue;
    }
    let value: unknown;
    try {
      // Anchors that do not resolve, or alias bombs past the limit, throw here rather than parsing.
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      problems.push(`${docName}: not valid YAML (${e instanceof Error ? e.message : String(e)})`);
      continue;
    }
    if (value === null || value === undefined) continue;
    const list = Array.isArray(value)
      ? value
      : typeof value === 'object' && 'policies' in value && Array.isArray(value.policies)
        ? (value.policies as unknown[])
        : [value];
    list.forEach((v: unknown, i) =>
      raws.push({ where: list.length > 1 ? `${docName}[${i}]` : docName, value: v }),
    );
  }
  if (raws.length === 0 && problems.length === 0) problems.push(`${source.name}: holds no policy`);
  const out: Policy[] = [];
  const releases: ReleasePolicy[] = [];
  for (const raw of raws) {
    if (isReleaseDocument(raw.value)) {
      const release = releaseSchema.safeParse(raw.value);
      if (!release.success) {
        for (const issue of release.error.issues) {
          problems.push(`${raw.where}: ${issue.path.join('.') || '(release)'}: ${issue.message}`);
        }
        continue;
      }
      const { watch, undoWindow, ...rest } = release.data;
      releases.push({
        ...rest,
        ...(watch ? { watch } : {}),
        ...(undoWindow !== undefined ? { undoWindow } : {}),
        source: raw.where,
      });
      continue;
    }
    const parsed = policySchema.safeParse(raw.value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field = issue.path.join('.') || '(policy)';
        problems.push(`${raw.where}: ${field}: ${issue.message}`);
      }
      continue;
    }
    const { name, ...rest } = parsed.data;
    out.push({ ...rest, name: name ?? parsed.data.app.name, source: raw.where });
  }
  return { policies: out, releases };
}

function crossPolicyProblems(policies: Policy[]): string[] {
  const problems: string[] = [];
  const byName = new Map<string, Policy>();
  const byApp = new Map<string, Policy>();
  for (const p of policies) {
    const other = byName.get(p.name);
    if (other)
      problems.push(`${p.source}: name: '${p.name}' is also the name of the policy in ${other.source}`);
    byName.set(p.name, p);
    const key = `${p.app.subscriptionId}/${p.app.resourceGroup}/${p.app.name}`.toLowerCase();
    const sameApp = byApp.get(key);
    if (sameApp) {
      problems.push(
        `${p.source}: app: ${key} is already targeted by policy '${sameApp.name}' (${sameApp.source}); one policy per app`,
      );
    }
    byApp.set(key, p);
  }
  return problems;
}
