import { z } from 'zod';

/**
 * The payloads of the external events a rollout waits for. The HTTP routes build them with these
 * schemas, and the orchestrator reads what it receives with `parseEvent`: anything else raised through
 * the Durable API (a string, `{}`, `null`, `{"decision":"maybe"}`) is a problem to record, never a decision.
 */
const who = z.string().trim().min(1, 'must name who acted').max(500, 'must be at most 500 characters');
const reason = z.string().max(500, 'must be at most 500 characters').optional();
const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' });

export const approvalEventSchema = z.strictObject({
  decision: z.enum(['approve', 'reject'], { message: "must be 'approve' or 'reject'" }),
  approver: who,
  decidedAt: isoTime,
  comment: z.string().max(500, 'must be at most 500 characters').optional(),
});

export const abortEventSchema = z.strictObject({ by: who, reason });
export const promoteEventSchema = z.strictObject({ by: who, reason });
/** Undo after promotion: restores the snapshot while the undo window is open. */
export const undoEventSchema = z.strictObject({ by: who, reason });

export type ApprovalEvent = z.infer<typeof approvalEventSchema>;
export type AbortEvent = z.infer<typeof abortEventSchema>;
export type PromoteEvent = z.infer<typeof promoteEventSchema>;
export type UndoEvent = z.infer<typeof undoEventSchema>;

export const eventSchemas = {
  approval: approvalEventSchema,
  abort: abortEventSchema,
  promote: promoteEventSchema,
  undo: undoEventSchema,
} as const;

export type EventName = keyof typeof eventSchemas;
export interface EventPayloads {
  approval: ApprovalEvent;
  abort: AbortEvent;
  promote: PromoteEvent;
  undo: UndoEvent;
}

export type ParsedEvent<N extends EventName> =
  { ok: true; name: N; value: EventPayloads[N] } | { ok: false; name: string; problem: string };

export function isEventName(name: string): name is EventName {
  return Object.prototype.hasOwnProperty.call(eventSchemas, name);
}

/** Reads an external event's payload; a malformed one is a problem with the fields named, never a throw. */
export function parseEvent<N extends EventName>(name: N, payload: unknown): ParsedEvent<N>;
export function parseEvent(name: string, payload: unknown): ParsedEvent<EventName>;
export function parseEvent(name: string, payload: unknown): ParsedEvent<EventName> {
  if (!isEventName(name)) {
    return {
      ok: false,
      name,
      problem: `'${name.slice(0, 100)}' is not an event a rollout waits for (${Object.keys(eventSchemas).join(', ')})`,
    };
  }
  const parsed = eventSchemas[name].safeParse(payload);
  if (parsed.success) return { ok: true, name, value: parsed.data };
  const problem = parsed.error.issues
    .map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`)
    .join('; ');
  return { ok: false, name, problem: `malformed '${name}' event ignored: ${problem}` };
}
