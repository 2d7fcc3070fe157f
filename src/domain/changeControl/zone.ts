/**
 * Wall-clock arithmetic in IANA time zones on the runtime's own tz database (Intl.DateTimeFormat), so
 * windows open at the local time operators wrote, across daylight-saving changes, with no date library.
 */

/** A local calendar date and time in some zone; `minutes` counts from local midnight. */
export interface LocalTime {
  year: number;
  month: number;
  day: number;
  /** 0 = Sunday ... 6 = Saturday, as Date.getUTCDay. */
  weekday: number;
  minutes: number;
  seconds: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether the runtime knows `timeZone` (an IANA name such as Europe/Amsterdam, or UTC). */
export function isTimeZone(timeZone: string): boolean {
  if (typeof timeZone !== 'string' || timeZone.trim() === '') return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The instant's wall clock in `timeZone`, as if that wall clock were UTC (ms). */
function wallClockAsUtc(instantMs: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instantMs))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
}

/** UTC offset of `timeZone` at the instant, in ms (Amsterdam in summer: +7_200_000). */
export function offsetAt(instantMs: number, timeZone: string): number {
  const whole = Math.floor(instantMs / 1000) * 1000;
  return wallClockAsUtc(whole, timeZone) - whole;
}

export function localTime(instantMs: number, timeZone: string): LocalTime {
  const wall = new Date(instantMs + offsetAt(instantMs, timeZone));
  return {
    year: wall.getUTCFullYear(),
    month: wall.getUTCMonth() + 1,
    day: wall.getUTCDate(),
    weekday: wall.getUTCDay(),
    minutes: wall.getUTCHours() * 60 + wall.getUTCMinutes(),
    seconds: wall.getUTCSeconds(),
  };
}

/**
 * The first instant whose wall clock in `timeZone` reads at least the given local date and time.
 * Normally that is the one instant showing it; on a fall-back day (the time shows twice) the earlier
 * one; on a spring-forward day, when the time never shows, the end of the gap (the clock jumps past it).
 * `minutes` may be 1440 (24:00, the next midnight).
 */
export function instantOfLocal(
  date: { year: number; month: number; day: number },
  minutes: number,
  timeZone: string,
): number {
  const wanted = Date.UTC(date.year, date.month - 1, date.day, 0, minutes);
  const day = 86_400_000;
  const before = offsetAt(wanted - day, timeZone);
  const after = offsetAt(wanted + day, timeZone);
  const candidates = [wanted - before, wanted - after].filter((t) => wallClockAsUtc(t, timeZone) === wanted);
  if (candidates.length > 0) return Math.min(...candidates);
  // In a gap: the transition lies between the two readings; find it to the second.
  let lo = Math.min(wanted - before, wanted - after);
  let hi = Math.max(wanted - before, wanted - after);
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (wallClockAsUtc(mid, timeZone) >= wanted) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The local calendar date `days` after the given one (proleptic Gregorian, zone-free). */
export function addDays(
  date: { year: number; month: number; day: number },
  days: number,
): { year: number; month: number; day: number; weekday: number } {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    weekday: d.getUTCDay(),
  };
}
