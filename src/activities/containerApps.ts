import { errorCode } from '../domain/errors';
import type { RolloutPorts } from '../domain/ports';
import type { ActivityHandlers } from './contract';

type ContainerAppsActivities = Pick<
  ActivityHandlers,
  | 'snapshotApp'
  | 'ensureMultipleRevisionMode'
  | 'deployGreen'
  | 'getRevision'
  | 'setTraffic'
  | 'deactivateRevision'
  | 'retireRevisions'
>;

// One side effect each; all idempotent (the port's operations are desired-state and no-op when done).
export function containerAppsActivities({ containerApps: ca }: RolloutPorts): ContainerAppsActivities {
  return {
    snapshotApp: (app) => ca.getSnapshot(app),
    ensureMultipleRevisionMode: (app) => ca.ensureMultipleRevisionMode(app),
    deployGreen: (input) => ca.deployGreen(input.app, input.request),
    getRevision: (input) => ca.getRevision(input.app, input.revisionName),
    setTraffic: async (input) => {
      await ca.setTraffic(
        input.app,
        input.traffic,
        input.targetLabel !== undefined ? { targetLabel: input.targetLabel } : undefined,
      );
      return { ok: true };
    },
    deactivateRevision: async (input) => {
      try {
        await ca.deactivateRevision(input.app, input.revisionName);
        return { deactivated: true };
      } catch (e) {
        // Compensation for a deploy that never created its revision: nothing to undo.
        if (input.missingOk && errorCode(e) === 'NotFound') return { deactivated: false };
        throw e;
      }
    },
    retireRevisions: async (input) => {
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
  };
}
