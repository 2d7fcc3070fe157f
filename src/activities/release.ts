import { auditLogLine, releaseFinishedEntry } from '../domain/audit';
import type { RolloutPorts } from '../domain/ports';
import { Events } from '../names';
import type { ActivityHandlers, ActivityInvocation } from './contract';

type ReleaseActivities = Pick<
  ActivityHandlers,
  'reportToRelease' | 'signalMember' | 'holdReleaseApps' | 'freeReleaseApps' | 'appendReleaseAudit'
>;

function raiser(invocation: ActivityInvocation) {
  if (!invocation.raiseEvent)
    throw new Error('this host gives activities no durable client to raise events with');
  return invocation.raiseEvent;
}

export function releaseActivities({ slots, audit }: RolloutPorts): ReleaseActivities {
  return {
    /** Raising the same report twice is harmless: the parent reads each member's stage, not a count. */
    reportToRelease: async ({ parentInstanceId, report }, invocation) => ({
      raised: await raiser(invocation)(parentInstanceId, Events.memberReport, report),
    }),

    signalMember: async ({ rolloutId, event, payload }, invocation) => ({
      raised: await raiser(invocation)(rolloutId, Events[event], payload),
    }),

    /**
     * All or none: a release never holds some of its apps while waiting for the rest, so two releases
     * sharing an app cannot hold each other up. A retry finds the apps already held by this release.
     */
    holdReleaseApps: async ({ releaseId, apps }, invocation) => {
      if (!slots.claimApp || !slots.activeRollout)
        throw new Error('the rollout store cannot hold apps for a release');
      const taken: typeof apps = [];
      const busy: { app: string; holder: string }[] = [];
      for (const a of apps) {
        if (await slots.claimApp(a.ref, releaseId)) {
          taken.push(a);
          continue;
        }
        const holder = await slots.activeRollout(a.ref);
        if (holder === releaseId) continue;
        // A holder that has ended (e.g. terminated by hand) holds nothing: take the app over from it.
        const stale =
          holder !== undefined &&
          invocation.instanceRunning !== undefined &&
          slots.takeOverApp !== undefined &&
          !(await invocation.instanceRunning(holder));
        if (stale && (await slots.takeOverApp!(a.ref, holder, releaseId))) taken.push(a);
        else busy.push({ app: a.app, holder: holder ?? 'unknown' });
      }
      if (busy.length === 0) {
        for (const a of apps) {
          if (!a.rolloutId || !a.image || !slots.setLatestRollout) continue;
          await slots.setLatestRollout(a.ref, {
            rolloutId: a.rolloutId,
            image: a.image,
            ...(a.digest ? { digest: a.digest } : {}),
          });
        }
        return { held: true, busy };
      }
      for (const a of taken) await slots.releaseApp(a.ref, releaseId);
      return { held: false, busy };
    },

    freeReleaseApps: async ({ releaseId, apps }, invocation) => {
      const started: string[] = [];
      for (const a of apps) {
        await slots.releaseApp(a.ref, releaseId);
        const next = await slots.claimNext(a.ref);
        if (!next) continue;
        try {
          await invocation.startRollout(next.rolloutId, next.input);
        } catch (e) {
          await slots.unclaimNext(a.ref, next);
          throw e;
        }
        started.push(next.rolloutId);
      }
      return { started };
    },

    appendReleaseAudit: async ({ release, releaseId, at, outcome, reason }, invocation) => {
      const entry = releaseFinishedEntry({ release, releaseId, at }, outcome, reason);
      const appended = await audit.append(entry);
      if (appended) invocation.log?.(auditLogLine(entry));
      return { id: entry.id, appended };
    },
  };
}
