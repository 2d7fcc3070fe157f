import * as df from 'durable-functions';
import type { AppRef, DeployGreenRequest, TrafficEntry } from '../adapters/containerApps/port';
import { services } from '../composition';
import { errorCode } from '../domain/errors';
import { Activities } from '../names';

// One side effect each; all idempotent (the adapter's operations are desired-state and no-op when done).

df.app.activity(Activities.snapshotApp, {
  handler: (app: AppRef) => services().containerApps.getSnapshot(app),
});

df.app.activity(Activities.ensureMultipleRevisionMode, {
  handler: (app: AppRef) => services().containerApps.ensureMultipleRevisionMode(app),
});

df.app.activity(Activities.deployGreen, {
  handler: (input: { app: AppRef; request: DeployGreenRequest }) =>
    services().containerApps.deployGreen(input.app, input.request),
});

df.app.activity(Activities.getRevision, {
  handler: (input: { app: AppRef; revisionName: string }) =>
    services().containerApps.getRevision(input.app, input.revisionName),
});

df.app.activity(Activities.setTraffic, {
  handler: async (input: { app: AppRef; traffic: TrafficEntry[] }) => {
    await services().containerApps.setTraffic(input.app, input.traffic);
    return { ok: true };
  },
});

df.app.activity(Activities.deactivateRevision, {
  handler: async (input: { app: AppRef; revisionName: string; missingOk?: boolean }) => {
    try {
      await services().containerApps.deactivateRevision(input.app, input.revisionName);
      return { deactivated: true };
    } catch (e) {
      // Compensation for a deploy that never created its revision: nothing to undo.
      if (input.missingOk && errorCode(e) === 'NotFound') return { deactivated: false };
      throw e;
    }
  },
});

df.app.activity(Activities.retireRevisions, {
  handler: async (input: { app: AppRef; keep: number; protect: string[] }) => {
    const ca = services().containerApps;
    const snapshot = await ca.getSnapshot(input.app);
    const carrying = new Set(
      snapshot.traffic.filter((t) => t.weight > 0 || t.label).map((t) => t.revisionName),
    );
    const active = snapshot.revisions
      .filter((r) => r.active)
      .sort((a, b) => (b.createdTime ?? '').localeCompare(a.createdTime ?? ''));
    // Keep the newest `keep` active revisions, anything protected, and anything still carrying traffic or a label.
    const kept = new Set([...input.protect, ...active.slice(0, input.keep).map((r) => r.name)]);
    const deactivated: string[] = [];
    for (const rev of active) {
      if (kept.has(rev.name) || carrying.has(rev.name)) continue;
      await ca.deactivateRevision(input.app, rev.name);
      deactivated.push(rev.name);
    }
    return { deactivated };
  },
});
