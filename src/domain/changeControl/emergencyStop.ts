/**
 * The emergency stop: during an incident, no production change by Greenlight. Per app or global. While
 * one is engaged, new rollouts are refused and running ones pause before their next production change
 * (an abort still rolls back, which restores production). Lifting it lets the paused rollouts resume.
 */
export type StopScope = { kind: 'global' } | { kind: 'app'; app: string };

export interface EmergencyStop {
  scope: StopScope;
  reason: string;
  /** Who engaged it. */
  by: string;
  /** When (ISO 8601). */
  since: string;
}

export type ParsedStop = { ok: true; stop: EmergencyStop } | { ok: false; problems: string[] };

/** The key an app's stop is filed under: `subscription/resourcegroup/name`, lower case. */
export function stopAppKey(app: { subscriptionId: string; resourceGroup: string; name: string }): string {
  return `${app.subscriptionId}/${app.resourceGroup}/${app.name}`.toLowerCase();
}

export function scopeText(scope: StopScope): string {
  return scope.kind === 'global' ? 'global' : `app ${scope.app}`;
}

/** Builds a stop from a request (`{ reason }`), the scope from the route and the caller's identity. */
export function newEmergencyStop(
  scope: StopScope,
  raw: unknown,
  by: string | undefined,
  now: Date,
): ParsedStop {
  const problems: string[] = [];
  const body =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const reason = typeof body.reason === 'string' ? body.reason.trim() : '';
  if (reason.length < 3)
    problems.push('reason: is required: say why production is stopped (at least 3 characters)');
  if (reason.length > 500) problems.push(`reason: must be at most 500 characters; got ${reason.length}`);
  if (scope.kind === 'app' && !/^[^/]+\/[^/]+\/[^/]+$/.test(scope.app)) {
    problems.push(`app: must be subscription/resourceGroup/name; got '${scope.app}'`);
  }
  const caller = by?.trim() ?? '';
  if (caller === '') problems.push('by: an emergency stop needs a named caller');
  if (problems.length > 0) return { ok: false, problems };
  const normalized: StopScope =
    scope.kind === 'global' ? scope : { kind: 'app', app: scope.app.toLowerCase() };
  return { ok: true, stop: { scope: normalized, reason, by: caller, since: now.toISOString() } };
}

/** The stops that hold an app: the global one and the app's own. */
export function stopsFor(
  app: { subscriptionId: string; resourceGroup: string; name: string },
  stops: EmergencyStop[],
): EmergencyStop[] {
  const key = stopAppKey(app);
  return stops.filter((s) => s.scope.kind === 'global' || s.scope.app === key);
}
