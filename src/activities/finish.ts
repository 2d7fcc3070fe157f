import type { RolloutPorts } from '../domain/ports';
import type { ActivityHandlers } from './contract';

export function finishActivities({
  slots,
}: RolloutPorts): Pick<ActivityHandlers, 'finishRollout' | 'latestRollout'> {
  return {
    /** Releases the app and starts whatever rollout was queued behind this one. Idempotent. */
    finishRollout: async (input, invocation) => {
      await slots.releaseApp(input.app, input.rolloutId);
      const next = await slots.claimNext(input.app);
      if (!next) return { released: true, started: null };
      try {
        await invocation.startRollout(next.rolloutId, next.input);
      } catch (e) {
        // Its caller was told "queued": put it back first in line, for the next finish (or a retry) to start.
        await slots.unclaimNext(input.app, next);
        throw e;
      }
      return { released: true, started: next.rolloutId };
    },

    latestRollout: async (app) => ({ rolloutId: (await slots.latestRollout(app))?.rolloutId ?? null }),
  };
}
