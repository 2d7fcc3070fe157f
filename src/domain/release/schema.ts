import { z } from 'zod';
import { formatDuration } from '../duration';
import { duration, positiveDuration } from '../policy/schema';

/**
 * The `kind: Release` policy document: several app policies rolled out as one. Strict like the app
 * policy, so a misspelt field is an error at load; durations are ISO 8601 and become milliseconds here.
 * Checks that need the app policies (members, steps, other releases) are in ./validate.ts.
 */
const memberName = z
  .string({ message: 'must be the name of an app policy' })
  .min(1, 'must be the name of an app policy');

/** Most members a release may have: bounds its status and history (each member is a child instance). */
export const maxReleaseMembers = 20;

export const releaseSchema = z
  .strictObject({
    kind: z.literal('Release', { message: "must be 'Release'" }),
    name: z
      .string({ message: 'name is required' })
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
        "must start with a letter or digit and hold only letters, digits, '.', '_' and '-' (at most 63)",
      ),
    members: z
      .array(memberName, {
        message: 'must list the app policy names, in promotion order, e.g. [api, worker]',
      })
      .min(2, 'a release needs at least 2 members; one app is an ordinary rollout')
      .max(maxReleaseMembers, `at most ${maxReleaseMembers} members`),
    order: z
      .enum(['sequence', 'lockstep'], { message: "must be 'sequence' or 'lockstep'" })
      .default('sequence'),
    approval: z
      .strictObject({
        required: z.boolean({ message: 'must be true or false' }).default(true),
        timeout: positiveDuration('PT1H').prefault('PT24H'),
        onTimeout: z
          .enum(['rollback', 'promote'], { message: "must be 'rollback' or 'promote'" })
          .default('rollback'),
        approvers: z.array(z.string().min(1, 'must not be empty')).default([]),
      })
      .prefault({}),
    bake: duration('PT10M').prefault('PT0S'),
    watch: z
      .strictObject({
        duration: duration('PT10M'),
        interval: positiveDuration('PT1M').prefault('PT1M'),
      })
      .optional(),
    gather: z
      .strictObject({
        window: positiveDuration('PT15M').prefault('PT15M'),
        tagKey: z.string().min(1, 'must be a regular expression such as ^(v\\d+\\.\\d+)\\.').optional(),
      })
      .prefault({}),
    concurrency: z
      .enum(['supersede', 'queue', 'reject'], { message: "must be 'supersede', 'queue' or 'reject'" })
      .default('supersede'),
    undoWindow: duration('PT30M').optional(),
    // While a member app is busy the release waits: looked at from every pollInterval (backing off to 5 min)
    // until timeout, after which it gives up having changed nothing.
    queue: z
      .strictObject({
        timeout: positiveDuration('PT4H').prefault('PT24H'),
        pollInterval: positiveDuration('PT30S').prefault('PT30S'),
      })
      .prefault({}),
  })
  .superRefine((r, ctx) => {
    const seen = new Map<string, number>();
    r.members.forEach((m, i) => {
      const first = seen.get(m);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['members', i],
          message: `'${m}' is listed twice (also members[${first}]); list each app once`,
        });
      } else seen.set(m, i);
    });
    if (r.watch && r.watch.duration > 0 && r.watch.interval > r.watch.duration) {
      ctx.addIssue({
        code: 'custom',
        path: ['watch', 'interval'],
        message: `must not be longer than watch.duration (${formatDuration(r.watch.duration)}); got ${formatDuration(r.watch.interval)}`,
      });
    }
    const tagKey = r.gather.tagKey;
    if (tagKey !== undefined) {
      const problem = tagKeyProblem(tagKey);
      if (problem) ctx.addIssue({ code: 'custom', path: ['gather', 'tagKey'], message: problem });
    }
  });

/** A tag key must compile and capture the key in group 1. */
function tagKeyProblem(pattern: string): string | undefined {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    return `is not a valid regular expression (${e instanceof Error ? e.message : String(e)})`;
  }
  // A pattern with a capture group matches the empty alternation with that many groups.
  const groups = new RegExp(`${re.source}|`).exec('')!.length - 1;
  if (groups < 1)
    return `must capture the release key in group 1, e.g. '^(v\\d+\\.\\d+)\\.'; got '${pattern}'`;
  return undefined;
}

export type ReleaseDocument = z.infer<typeof releaseSchema>;

/** The release key of an image tag under `tagKey`: capture group 1, or the whole tag when absent. */
export function releaseKeyOf(tag: string, tagKey: string | undefined): string | undefined {
  if (tagKey === undefined) return tag;
  const m = new RegExp(tagKey).exec(tag);
  return m?.[1] || undefined;
}

/** Whether a loaded document is a release (told apart from app policies by `kind`). */
export function isReleaseDocument(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Release';
}
