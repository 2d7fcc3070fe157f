import { z } from 'zod';
import type { MemberReport, ReleaseCommand } from './types';

/**
 * The payloads of the events between a release and its members. Raised by Greenlight's own activities,
 * yet read like any external event: anyone can raise an event through the Durable API, so a payload that
 * does not fit is recorded and ignored, never acted on.
 */
const name = z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const step = z
  .number()
  .int('must be a whole number')
  .min(0, 'must be 0 or more')
  .max(100, 'must be at most 100');

export const releaseCommandSchema = z.discriminatedUnion(
  'action',
  [
    z.strictObject({ action: z.literal('promote') }),
    z.strictObject({ action: z.literal('step'), step }),
    z.strictObject({ action: z.literal('finish') }),
  ],
  { message: "action must be 'promote', 'step' or 'finish'" },
);

const member = { app: name, rolloutId: name };
const outcome = z.enum(['Succeeded', 'RolledBack', 'RollbackFailed', 'Undone'], {
  message: "must be 'Succeeded', 'RolledBack', 'RollbackFailed' or 'Undone'",
});

export const memberReportSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({
      kind: z.literal('validated'),
      ...member,
      green: name.optional(),
      approvalNeeded: z.array(z.string().max(2000)).max(20).optional(),
    }),
    z.strictObject({ kind: z.literal('promoted'), ...member }),
    z.strictObject({ kind: z.literal('stepDone'), ...member, step }),
    z.strictObject({ kind: z.literal('watched'), ...member }),
    z.strictObject({ kind: z.literal('succeeded'), ...member }),
    z.strictObject({
      kind: z.literal('finished'),
      ...member,
      outcome,
      reason: z.string().max(2000).optional(),
      leftToDo: z.array(z.string().max(2000)).max(50).optional(),
      promoted: z.boolean(),
    }),
  ],
  { message: "kind must be 'validated', 'promoted', 'stepDone', 'watched', 'succeeded' or 'finished'" },
);

export type ParsedRelease<T> = { ok: true; value: T } | { ok: false; problem: string };

function read<T>(event: string, schema: z.ZodType<T>, payload: unknown): ParsedRelease<T> {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return { ok: true, value: parsed.data };
  const problem = parsed.error.issues
    .map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`)
    .join('; ');
  return { ok: false, problem: `malformed '${event}' event ignored: ${problem}` };
}

export function parseReleaseCommand(payload: unknown): ParsedRelease<ReleaseCommand> {
  return read('releaseCommand', releaseCommandSchema, payload);
}

export function parseMemberReport(payload: unknown): ParsedRelease<MemberReport> {
  return read('memberReport', memberReportSchema, payload);
}
