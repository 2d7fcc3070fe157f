/**
 * When the reminders go out. A reminder is worth sending while a person can still act on it: by default
 * a quarter of the wait before its end (an approval of 24 hours is reminded 6 hours before it expires,
 * an undo window of 30 minutes 7.5 minutes before it closes). A policy may set the lead itself; PT0S
 * turns the reminder off.
 */
export const defaultReminderShare = 0.25;

/**
 * How long before the end of a wait of `waitMs` its reminder goes out: the policy's lead when set (capped
 * at the wait, so a lead as long as the wait reminds at once), else a quarter of the wait; 0 means none.
 */
export function reminderLeadMs(waitMs: number, leadMs?: number): number {
  if (waitMs <= 0) return 0;
  if (leadMs !== undefined) return Math.max(0, Math.min(leadMs, waitMs));
  return Math.floor(waitMs * defaultReminderShare);
}

/** The instant a reminder of a wait ending at `endsAt` goes out, or undefined when there is none to send. */
export function reminderAt(startedAt: number, endsAt: number, leadMs?: number): number | undefined {
  const lead = reminderLeadMs(endsAt - startedAt, leadMs);
  return lead > 0 ? endsAt - lead : undefined;
}
