import type { ChangeControlRules, DeployWindow, Freeze } from './rules';
import { addDays, instantOfLocal, localTime } from './zone';

/** Why production is closed at an instant: a freeze in force, or no window of a layer open. */
export type Blocker =
  | { kind: 'freeze'; layer: ChangeControlRules['layer']; freeze: Freeze }
  | { kind: 'outsideWindows'; layer: ChangeControlRules['layer']; windows: DeployWindow[] };

/** How far ahead an opening is looked for: past a year, the rules can never open (e.g. disjoint windows). */
export const openingHorizonMs = 366 * 86_400_000;

export function inWindow(window: DeployWindow, atMs: number): boolean {
  const t = localTime(atMs, window.timeZone);
  return window.days.includes(t.weekday) && t.minutes >= window.start && t.minutes < window.end;
}

/** Every reason production is closed at `atMs`, freezes first; empty when it is open. */
export function blockersAt(atMs: number, layers: ChangeControlRules[]): Blocker[] {
  const out: Blocker[] = [];
  for (const rules of layers) {
    for (const freeze of rules.freezes) {
      if (freeze.start <= atMs && atMs < freeze.end) out.push({ kind: 'freeze', layer: rules.layer, freeze });
    }
  }
  for (const rules of layers) {
    if (rules.windows.length > 0 && !rules.windows.some((w) => inWindow(w, atMs))) {
      out.push({ kind: 'outsideWindows', layer: rules.layer, windows: rules.windows });
    }
  }
  return out;
}

/** The window open at `atMs` in a layer, if any (for messages). */
export function openWindow(rules: ChangeControlRules, atMs: number): DeployWindow | undefined {
  return rules.windows.find((w) => inWindow(w, atMs));
}

/** The first instant after `afterMs` at which one of the windows opens. */
export function nextWindowStart(windows: DeployWindow[], afterMs: number): number | undefined {
  let best: number | undefined;
  for (const w of windows) {
    const today = localTime(afterMs, w.timeZone);
    // Eight days cover a weekly window from any point of the week; one day back covers a zone far ahead.
    for (let k = -1; k <= 8; k++) {
      const date = addDays(today, k);
      if (!w.days.includes(date.weekday)) continue;
      const at = instantOfLocal(date, w.start, w.timeZone);
      if (at > afterMs && (best === undefined || at < best)) best = at;
    }
  }
  return best;
}

/**
 * The first instant at or after `nowMs` when production is open in every layer: inside a window of
 * each layer that has windows and in no freeze. Exact across daylight-saving changes (a window opening
 * at a local time skipped by a spring-forward opens when the clock jumps past it). Undefined when
 * nothing opens within `horizonMs` (windows of two layers that never meet, or a freeze longer than that).
 */
export function nextOpening(
  nowMs: number,
  layers: ChangeControlRules[],
  horizonMs: number = openingHorizonMs,
): number | undefined {
  let t = nowMs;
  // Each round jumps past at least one blocker; the bound only guards against rules that never open.
  for (let round = 0; round < 2000; round++) {
    const blockers = blockersAt(t, layers);
    if (blockers.length === 0) return t;
    let next = t;
    for (const b of blockers) {
      const clears = b.kind === 'freeze' ? b.freeze.end : nextWindowStart(b.windows, t);
      if (clears === undefined) return undefined;
      next = Math.max(next, clears);
    }
    if (next <= t) next = t + 1000;
    if (next - nowMs > horizonMs) return undefined;
    t = next;
  }
  return undefined;
}

/** Freezes that are in force at or begin after `nowMs`, within `aheadMs`, soonest first. */
export function freezesAhead(
  nowMs: number,
  layers: ChangeControlRules[],
  aheadMs: number,
): (Freeze & { layer: ChangeControlRules['layer'] })[] {
  return layers
    .flatMap((rules) => rules.freezes.map((f) => ({ ...f, layer: rules.layer })))
    .filter((f) => f.end > nowMs && f.start <= nowMs + aheadMs)
    .sort((a, b) => a.start - b.start);
}
