import * as df from 'durable-functions';
import type { AppRef } from '../adapters/containerApps/port';
import { services } from '../composition';
import { Activities } from '../names';
import { startNextQueued } from '../services/admission';

/** Releases the app and starts whatever rollout was queued behind this one. Idempotent. */
df.app.activity(Activities.finishRollout, {
  extraInputs: [df.input.durableClient()],
  handler: async (input: { rolloutId: string; app: AppRef; outcome: string }, context) => {
    const { store } = services();
    await store.releaseApp(input.app, input.rolloutId);
    const next = await startNextQueued(df.getClient(context), store, input.app);
    return { released: true, started: next ?? null };
  },
});
