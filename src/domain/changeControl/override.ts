/**
 * An override: a named caller lets one rollout start or resume while production is closed (a freeze
 * or outside the windows), with a reason. It is recorded with the rollout and in its audit. It never
 * lifts an emergency stop: that is lifted on its own, by whoever holds the incident.
 */
export interface Override {
  /** Who overrides: the caller's identity as the trigger established it, never a name from the body. */
  by: string;
  reason: string;
  /** When given, the override holds for this rollout only. */
  rolloutId?: string;
  /** When it was given (ISO 8601). */
  at: string;
}

export type ParsedOverride = { ok: true; override: Override } | { ok: false; problems: string[] };

const maxReason = 500;

/**
 * Builds an override from a request body's `override` object (`{ reason, rolloutId? }`) and the caller
 * identity the trigger established. Problems name the field.
 */
export function parseOverride(raw: unknown, by: string | undefined, now: Date): ParsedOverride {
  const problems: string[] = [];
  const body =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw)
      ? (raw as Record<string, unknown>)
      : undefined;
  if (!body)
    return { ok: false, problems: ["override must be an object such as { reason: 'hotfix for INC-42' }"] };
  for (const key of Object.keys(body)) {
    if (!['reason', 'rolloutId'].includes(key))
      problems.push(`override.${key}: unknown field; known fields: reason, rolloutId`);
  }
  const reason = typeof body.reason === 'string' ? body.reason.trim() : '';
  if (reason.length < 3) {
    problems.push(
      'override.reason: is required: say why this change must go out now (at least 3 characters)',
    );
  } else if (reason.length > maxReason) {
    problems.push(`override.reason: must be at most ${maxReason} characters; got ${reason.length}`);
  }
  if (body.rolloutId !== undefined && (typeof body.rolloutId !== 'string' || body.rolloutId.trim() === '')) {
    problems.push('override.rolloutId: must be the id of the rollout to let through');
  }
  const caller = by?.trim() ?? '';
  if (caller === '') {
    problems.push(
      'override: needs a named caller; call with an identity (a signed-in principal or a named key)',
    );
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    override: {
      by: caller,
      reason,
      ...(typeof body.rolloutId === 'string' ? { rolloutId: body.rolloutId.trim() } : {}),
      at: now.toISOString(),
    },
  };
}

/** Whether the override lets this rollout through (one bound to another rollout does not). */
export function overrideApplies(override: Override | undefined, rolloutId: string | undefined): boolean {
  if (!override) return false;
  return override.rolloutId === undefined || rolloutId === undefined || override.rolloutId === rolloutId;
}
