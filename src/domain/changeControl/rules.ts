import { instantOfLocal, isTimeZone } from './zone';

/**
 * Change control as operators write it (per policy under `changeControl`, and once globally): weekly
 * deploy windows in an IANA time zone, one-off freezes with a reason, and what a rollout does when it
 * is triggered while production is closed. Parsed here into plain JSON data (it travels inside the
 * rollout plan), with every problem named by its field.
 */

/** What a rollout triggered while production is closed does. */
export type ClosedAction = 'wait' | 'reject' | 'run';
export const closedActions: readonly ClosedAction[] = ['wait', 'reject', 'run'];

export interface DeployWindow {
  /** Local weekdays the window opens on: 0 = Sunday ... 6 = Saturday. */
  days: number[];
  /** Local minutes from midnight: opens at `start`, closes at `end` (exclusive; 1440 = 24:00). */
  start: number;
  end: number;
  timeZone: string;
  /** As written, for messages: `Mon-Thu 09:00-17:00 Europe/Amsterdam`. */
  text: string;
}

export interface Freeze {
  name: string;
  /** Instants (ms since epoch); the freeze covers [start, end). */
  start: number;
  end: number;
  reason: string;
}

export interface ChangeControlRules {
  /** Where these rules come from, named in every verdict: `policy` or `global`. */
  layer: 'policy' | 'global';
  /** Empty: production is open every day and hour (freezes still apply). */
  windows: DeployWindow[];
  freezes: Freeze[];
  outsideWindows: ClosedAction;
  duringFreeze: ClosedAction;
}

export interface RuleProblem {
  path: (string | number)[];
  message: string;
}

export type ParsedRules = { ok: true; rules: ChangeControlRules } | { ok: false; problems: RuleProblem[] };

const dayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const fullDayNames = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const shortDay = (d: number) => ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d] ?? '?';

function dayIndex(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  const i = dayNames.indexOf(t);
  if (i >= 0) return i;
  const j = fullDayNames.indexOf(t);
  return j >= 0 ? j : undefined;
}

/** `Mon-Thu`, `Fri-Mon` (wraps), `Sat`, or a list of those. */
function parseDays(raw: unknown, problem: (message: string) => void): number[] | undefined {
  const items = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : undefined;
  if (!items || items.length === 0) {
    problem("must list weekdays, e.g. 'Mon-Thu' or [Mon, Wed, Fri]");
    return undefined;
  }
  const days = new Set<number>();
  let ok = true;
  for (const item of items) {
    if (typeof item !== 'string' || item.trim() === '') {
      problem(
        `each entry must be a weekday such as Mon or a range such as Mon-Thu; got ${JSON.stringify(item)}`,
      );
      ok = false;
      continue;
    }
    const [from, to, extra] = item.split('-');
    const a = dayIndex(from ?? '');
    const b = to === undefined ? a : dayIndex(to);
    if (extra !== undefined || a === undefined || b === undefined) {
      problem(
        `unknown weekday in '${item.trim()}': use Mon, Tue, Wed, Thu, Fri, Sat, Sun (or a range such as Mon-Thu)`,
      );
      ok = false;
      continue;
    }
    for (let d = a; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === b) break;
    }
  }
  return ok ? [...days].sort((x, y) => x - y) : undefined;
}

const clockPattern = /^([01]\d|2[0-4]):([0-5]\d)$/;

function parseClock(raw: unknown, problem: (message: string) => void): number | undefined {
  const m = typeof raw === 'string' ? clockPattern.exec(raw.trim()) : null;
  const minutes = m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
  if (minutes === undefined || minutes > 1440) {
    problem(`must be a local time HH:MM from 00:00 to 24:00; got ${JSON.stringify(raw)}`);
    return undefined;
  }
  return minutes;
}

const hhmm = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** `Mon-Thu` style text for a day set, for messages. */
export function daysText(days: number[]): string {
  const order = [1, 2, 3, 4, 5, 6, 0].filter((d) => days.includes(d));
  const runs: string[] = [];
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && ((order[j] ?? 0) + 1) % 7 === order[j + 1]) j++;
    runs.push(j > i ? `${shortDay(order[i] ?? 0)}-${shortDay(order[j] ?? 0)}` : shortDay(order[i] ?? 0));
    i = j + 1;
  }
  return runs.join(',');
}

export function windowText(w: Omit<DeployWindow, 'text'>): string {
  return `${daysText(w.days)} ${hhmm(w.start)}-${hhmm(w.end)} ${w.timeZone}`;
}

const withOffset = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/i;
const localDateTime = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/**
 * A freeze bound: an ISO 8601 date-time with Z or an offset, or a local date (`2026-12-24`, midnight)
 * or date-time (`2026-12-24T18:00`) read in the freeze's time zone.
 */
function parseInstant(
  raw: unknown,
  timeZone: string | undefined,
  problem: (message: string) => void,
): number | undefined {
  const text = typeof raw === 'string' ? raw.trim() : raw instanceof Date ? raw.toISOString() : undefined;
  const example = "e.g. '2026-12-19T00:00:00+01:00', or '2026-12-19' with a timeZone";
  if (text === undefined) {
    problem(`must be an ISO 8601 date or date-time, ${example}; got ${JSON.stringify(raw)}`);
    return undefined;
  }
  const valid = (y: number, mo: number, d: number, h: number, mi: number, s: number) => {
    const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
    return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && h < 24;
  };
  const a = withOffset.exec(text);
  if (a) {
    const [y, mo, d, h, mi, s] = a.slice(1, 7).map((v) => Number(v ?? 0)) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const ms = Date.parse(text);
    if (!valid(y, mo, d, h, mi, s) || Number.isNaN(ms)) {
      problem(`'${text}' is not a real date and time`);
      return undefined;
    }
    return ms;
  }
  const b = localDateTime.exec(text);
  if (b) {
    const [y, mo, d, h, mi, s] = b.slice(1, 7).map((v) => Number(v ?? 0)) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    if (!valid(y, mo, d, h, mi, s)) {
      problem(`'${text}' is not a real date and time`);
      return undefined;
    }
    if (!timeZone) {
      problem(
        `'${text}' has no UTC offset: add one (Z or +01:00), or set timeZone on the freeze or on changeControl`,
      );
      return undefined;
    }
    return instantOfLocal({ year: y, month: mo, day: d }, h * 60 + mi, timeZone) + s * 1000;
  }
  problem(`must be an ISO 8601 date or date-time, ${example}; got '${text}'`);
  return undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function unknownKeys(
  raw: Record<string, unknown>,
  known: string[],
  path: (string | number)[],
  problems: RuleProblem[],
): void {
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      problems.push({ path: [...path, key], message: `unknown field; known fields: ${known.join(', ')}` });
    }
  }
}

function parseAction(raw: unknown, path: (string | number)[], problems: RuleProblem[]): ClosedAction {
  if (raw === undefined) return 'wait';
  if (typeof raw === 'string' && (closedActions as readonly string[]).includes(raw))
    return raw as ClosedAction;
  problems.push({
    path,
    message: `must be 'wait' (until production opens), 'reject' or 'run' (and record it); got ${JSON.stringify(raw)}`,
  });
  return 'wait';
}

/**
 * Parses a change-control block. Every problem is listed with its field path (relative to the block),
 * so a policy loader can prefix it and an operator fixes all of them in one pass.
 */
export function parseChangeControl(raw: unknown, layer: ChangeControlRules['layer']): ParsedRules {
  const problems: RuleProblem[] = [];
  if (!isRecord(raw)) {
    return {
      ok: false,
      problems: [
        { path: [], message: 'must be an object with windows, freezes, outsideWindows and duringFreeze' },
      ],
    };
  }
  unknownKeys(raw, ['timeZone', 'windows', 'freezes', 'outsideWindows', 'duringFreeze'], [], problems);
  let defaultZone: string | undefined;
  if (raw.timeZone !== undefined) {
    if (typeof raw.timeZone === 'string' && isTimeZone(raw.timeZone)) defaultZone = raw.timeZone;
    else
      problems.push({
        path: ['timeZone'],
        message: `must be an IANA time zone such as Europe/Amsterdam or UTC; got ${JSON.stringify(raw.timeZone)}`,
      });
  }
  const windows: DeployWindow[] = [];
  /** The list index each parsed window came from, to name the field of an overlap. */
  const windowIndex: number[] = [];
  if (raw.windows !== undefined && !Array.isArray(raw.windows)) {
    problems.push({ path: ['windows'], message: 'must be a list of windows' });
  }
  const rawWindows: unknown[] = Array.isArray(raw.windows) ? raw.windows : [];
  rawWindows.forEach((w, i) => {
    const at = ['windows', i];
    if (!isRecord(w)) {
      problems.push({
        path: at,
        message: "must be an object such as { days: 'Mon-Thu', start: '09:00', end: '17:00' }",
      });
      return;
    }
    unknownKeys(w, ['days', 'start', 'end', 'timeZone'], at, problems);
    const days = parseDays(w.days, (message) => problems.push({ path: [...at, 'days'], message }));
    const start = parseClock(w.start, (message) => problems.push({ path: [...at, 'start'], message }));
    const end = parseClock(w.end, (message) => problems.push({ path: [...at, 'end'], message }));
    let zone = defaultZone;
    if (w.timeZone !== undefined) {
      zone = typeof w.timeZone === 'string' && isTimeZone(w.timeZone) ? w.timeZone : undefined;
      if (!zone)
        problems.push({
          path: [...at, 'timeZone'],
          message: `must be an IANA time zone such as Europe/Amsterdam or UTC; got ${JSON.stringify(w.timeZone)}`,
        });
    } else if (!defaultZone && raw.timeZone === undefined) {
      problems.push({
        path: [...at, 'timeZone'],
        message: 'is required: name the IANA time zone the hours are in (or set changeControl.timeZone)',
      });
    }
    if (start !== undefined && end !== undefined && end <= start) {
      problems.push({
        path: [...at, 'end'],
        message: `must be after start (${hhmm(start)}); got ${hhmm(end)}. A window across midnight is two windows, e.g. Fri 22:00-24:00 and Sat 00:00-02:00`,
      });
      return;
    }
    if (days && start !== undefined && end !== undefined && zone) {
      const window = { days, start, end, timeZone: zone };
      windows.push({ ...window, text: windowText(window) });
      windowIndex.push(i);
    }
  });
  // Overlapping windows in one zone are a typo more often than a plan; refuse them with both named.
  windows.forEach((w, i) => {
    windows.slice(0, i).forEach((other) => {
      const sharedDays = w.days.filter((d) => other.days.includes(d));
      if (
        other.timeZone === w.timeZone &&
        sharedDays.length > 0 &&
        w.start < other.end &&
        other.start < w.end
      ) {
        problems.push({
          path: ['windows', windowIndex[i] ?? i],
          message: `'${w.text}' overlaps '${other.text}' on ${daysText(sharedDays)}: merge them into one window`,
        });
      }
    });
  });
  const freezes: Freeze[] = [];
  if (raw.freezes !== undefined && !Array.isArray(raw.freezes)) {
    problems.push({ path: ['freezes'], message: 'must be a list of freezes' });
  }
  const rawFreezes: unknown[] = Array.isArray(raw.freezes) ? raw.freezes : [];
  const names = new Set<string>();
  rawFreezes.forEach((f, i) => {
    const at = ['freezes', i];
    if (!isRecord(f)) {
      problems.push({
        path: at,
        message: "must be an object such as { start: '2026-12-19', end: '2027-01-04', reason: 'holidays' }",
      });
      return;
    }
    unknownKeys(f, ['name', 'start', 'end', 'reason', 'timeZone'], at, problems);
    let zone = defaultZone;
    if (f.timeZone !== undefined) {
      zone = typeof f.timeZone === 'string' && isTimeZone(f.timeZone) ? f.timeZone : undefined;
      if (!zone)
        problems.push({
          path: [...at, 'timeZone'],
          message: `must be an IANA time zone such as Europe/Amsterdam or UTC; got ${JSON.stringify(f.timeZone)}`,
        });
    }
    const start = parseInstant(f.start, zone, (message) =>
      problems.push({ path: [...at, 'start'], message }),
    );
    const end = parseInstant(f.end, zone, (message) => problems.push({ path: [...at, 'end'], message }));
    const reason = typeof f.reason === 'string' ? f.reason.trim() : '';
    if (reason === '') {
      problems.push({
        path: [...at, 'reason'],
        message: 'is required: say why production is frozen (it is shown to whoever is held)',
      });
    }
    const name = typeof f.name === 'string' && f.name.trim() !== '' ? f.name.trim() : `freeze-${i + 1}`;
    if (f.name !== undefined && (typeof f.name !== 'string' || f.name.trim() === '')) {
      problems.push({ path: [...at, 'name'], message: 'must be a non-empty name' });
    } else if (names.has(name)) {
      problems.push({ path: [...at, 'name'], message: `duplicate freeze name '${name}'` });
    }
    names.add(name);
    if (start !== undefined && end !== undefined && end <= start) {
      problems.push({
        path: [...at, 'end'],
        message: `must be after start (${new Date(start).toISOString()}); got ${new Date(end).toISOString()}`,
      });
      return;
    }
    if (start !== undefined && end !== undefined && reason !== '') freezes.push({ name, start, end, reason });
  });
  const outsideWindows = parseAction(raw.outsideWindows, ['outsideWindows'], problems);
  const duringFreeze = parseAction(raw.duringFreeze, ['duringFreeze'], problems);
  if (raw.outsideWindows !== undefined && rawWindows.length === 0) {
    problems.push({
      path: ['outsideWindows'],
      message: 'applies only with windows; list windows or remove it',
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, rules: { layer, windows, freezes, outsideWindows, duringFreeze } };
}

/** Renders problems as `field.path: message` under a prefix (e.g. `changeControl`). */
export function problemLines(problems: RuleProblem[], prefix: string): string[] {
  return problems.map((p) => `${[prefix, ...p.path].filter((s) => s !== '').join('.')}: ${p.message}`);
}
