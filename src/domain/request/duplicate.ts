import { sameImage, type ImageRef } from '../image';

/** A rollout of the app that a new request may repeat. */
export interface PriorRollout {
  rolloutId: string;
  image: ImageRef;
  /** Running or pending now; queued behind the running one; or finished (with its outcome). */
  state: 'running' | 'queued' | 'succeeded' | 'failed';
  /** When it finished (epoch ms), for finished rollouts. */
  finishedAt?: number;
}

/** How long a succeeded rollout absorbs a repeat of its image (a CI call racing the registry push). */
export const justFinishedMs = 10 * 60_000;

/**
 * "Same event", not "same image forever": a request is a duplicate of a rollout of the same image that
 * is running or queued, or of the app's latest rollout when that one succeeded moments ago. The same image
 * later, after another image, or after a failed attempt, is a new rollout.
 */
export function duplicateOf(
  image: ImageRef,
  app: { active: PriorRollout[]; latest?: PriorRollout },
  now: number,
  windowMs = justFinishedMs,
): string | undefined {
  const live = app.active.find(
    (p) => (p.state === 'running' || p.state === 'queued') && sameImage(p.image, image),
  );
  if (live) return live.rolloutId;
  const l = app.latest;
  if (!l || !sameImage(l.image, image)) return undefined;
  if (l.state === 'running' || l.state === 'queued') return l.rolloutId;
  if (l.state === 'succeeded' && l.finishedAt !== undefined && now - l.finishedAt <= windowMs) {
    return l.rolloutId;
  }
  return undefined;
}
