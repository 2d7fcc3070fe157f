import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { GreenlightError } from '../errors';
import { parseChangeControl, problemLines, type ChangeControlRules } from './rules';

/**
 * Global change control: one YAML or JSON document of the same shape as a policy's `changeControl`
 * block, read at start from GREENLIGHT_CHANGE_CONTROL_PATH (a file) or GREENLIGHT_CHANGE_CONTROL
 * (inline text). Its windows hold for every app (a policy's windows narrow them further) and its
 * freezes freeze every app. A bad document stops the start with every problem listed.
 */
export function parseGlobalChangeControl(text: string, source: string): ChangeControlRules {
  const docs = parseAllDocuments(text, { prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const problems: string[] = [];
  if (list.length !== 1) problems.push(`${source}: must hold exactly one document; got ${list.length}`);
  const doc = list[0];
  for (const err of doc?.errors ?? []) problems.push(`${source}: not valid YAML or JSON (${err.message})`);
  if (problems.length === 0 && doc) {
    const value: unknown = doc.toJS();
    const raw =
      typeof value === 'object' && value !== null && 'changeControl' in value ? value.changeControl : value;
    const parsed = parseChangeControl(raw, 'global');
    if (parsed.ok) return parsed.rules;
    problems.push(...problemLines(parsed.problems, 'changeControl').map((p) => `${source}: ${p}`));
  }
  throw new GreenlightError(
    'InvalidConfiguration',
    `${problems.length} global change-control problem(s):\n  - ${problems.join('\n  - ')}`,
    { problems },
  );
}

/** The policy's `changeControl` field: parsed by parseChangeControl, each problem under its own path. */
export const changeControlField = z.unknown().transform((raw, ctx): ChangeControlRules => {
  const parsed = parseChangeControl(raw, 'policy');
  if (parsed.ok) return parsed.rules;
  for (const p of parsed.problems) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
  return z.NEVER;
});
