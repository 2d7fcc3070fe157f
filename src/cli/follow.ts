import { setTimeout as sleep } from 'node:timers/promises';
import type { RolloutView } from '../services/rolloutView';
import { isApiError, UnreachableError, type GreenlightClient } from './client';
import { ExitCode, exitCodeOfEnd, type ExitCodeValue } from './exitCodes';

/** Polls a rollout until `stop` says so; a few transient failures in a row (network, 5xx) are retried. */
export async function poll(
  client: GreenlightClient,
  id: string,
  opts: {
    intervalMs: number;
    deadline?: number;
    onView: (v: RolloutView) => boolean | void;
    onRetry?: (why: string) => void;
  },
): Promise<'stopped' | 'deadline'> {
  let failures = 0;
  for (;;) {
    try {
      const view = await client.getRollout(id);
      failures = 0;
      if (opts.onView(view) === true) return 'stopped';
    } catch (e) {
      const transient = e instanceof UnreachableError || (isApiError(e) && e.status >= 500);
      if (!transient || ++failures > 5) throw e;
      opts.onRetry?.(e instanceof Error ? e.message : String(e));
    }
    const wait =
      opts.deadline === undefined ? opts.intervalMs : Math.min(opts.intervalMs, opts.deadline - Date.now());
    if (wait <= 0) return 'deadline';
    await sleep(wait);
    if (opts.deadline !== undefined && Date.now() >= opts.deadline) return 'deadline';
  }
}

export interface WaitResult {
  code: ExitCodeValue;
  /** One line for a person: what happened. */
  message: string;
  view?: RolloutView;
}

/** Whether the rollout is at, or has passed through, a phase (a short phase may fall between two polls). */
export function hasReached(v: RolloutView, phase: string): boolean {
  return v.phase === phase || v.timeline.some((t) => t.phase === phase);
}

/** The outcome of waiting for `target` (`done` or a phase) given the rollout's current view, or undefined to keep waiting. */
export function judge(v: RolloutView, target: string): WaitResult | undefined {
  if (target !== 'done' && hasReached(v, target)) {
    return { code: ExitCode.ok, message: `${v.id} reached ${target} (now ${v.phase})`, view: v };
  }
  if (!v.done) return undefined;
  const why = v.reason ? `: ${v.reason}` : '';
  const code = exitCodeOfEnd(v.phase);
  if (target !== 'done' && code === ExitCode.ok) {
    return {
      code: ExitCode.phaseNotReached,
      message: `${v.id} ended ${v.phase} without passing through ${target}`,
      view: v,
    };
  }
  const left = v.leftToDo?.length ? `; left to do: ${v.leftToDo.join('; ')}` : '';
  return { code, message: `${v.id} ended ${v.phase}${why}${left}`, view: v };
}
