import type { DurableOrchestrationStatus } from 'durable-functions';
import type { ReleaseInput, ReleaseStatus } from '../domain/release/types';
import type { RolloutView } from './rolloutView';

/** A member as `GET /api/releases/{id}` shows it: the release's view of it, plus its own rollout's status. */
export type ReleaseMemberView = ReleaseStatus['members'][number] & {
  /** The image the member rolls out (from the release input). */
  image?: string;
  /** The member rollout's own view, when it has started. */
  rollout?: RolloutView;
};

/**
 * The documented shape of `GET /api/releases/{id}`: the release orchestration's custom status plus the
 * runtime's view, and each member's rollout. Fields are only added, never renamed.
 */
export interface ReleaseView extends Omit<ReleaseStatus, 'phase' | 'members'> {
  id: string;
  runtimeStatus: string;
  phase: ReleaseStatus['phase'] | 'Crashed' | 'Terminated';
  members: ReleaseMemberView[];
  createdAt: string;
  lastUpdatedAt: string;
  /** True once nothing more will happen to this release. */
  done: boolean;
}

const finished = ['Completed', 'Failed', 'Terminated', 'Canceled'];

/** The parent's view; `rollouts` are the member rollouts' views by rollout id (absent: not looked up). */
export function toReleaseView(
  status: DurableOrchestrationStatus,
  rollouts: Map<string, RolloutView> = new Map(),
): ReleaseView {
  const custom = status.customStatus as ReleaseStatus | null | undefined;
  const input = status.input as ReleaseInput | undefined;
  const runtimeStatus = String(status.runtimeStatus);
  const base: ReleaseStatus = custom ?? {
    releaseId: status.instanceId,
    name: input?.plan.name ?? '',
    phase: 'Queued',
    members: (input?.members ?? []).map((m) => ({ app: m.app, rolloutId: m.rolloutId, promoted: false })),
    timeline: [],
  };
  const images = new Map((input?.members ?? []).map((m) => [m.app, m.input.image]));
  const view: ReleaseView = {
    ...base,
    id: status.instanceId,
    runtimeStatus,
    members: base.members.map((m) => {
      const image = images.get(m.app);
      const rollout = rollouts.get(m.rolloutId);
      return { ...m, ...(image ? { image } : {}), ...(rollout ? { rollout } : {}) };
    }),
    createdAt: new Date(status.createdTime).toISOString(),
    lastUpdatedAt: new Date(status.lastUpdatedTime).toISOString(),
    done: finished.includes(runtimeStatus),
  };
  if (runtimeStatus === 'Failed') {
    view.phase = 'Crashed';
    view.reason = typeof status.output === 'string' ? status.output : JSON.stringify(status.output);
  } else if (runtimeStatus === 'Terminated') {
    view.phase = 'Terminated';
    view.reason = `terminated: ${typeof status.output === 'string' ? status.output : 'no reason given'}`;
  }
  if (view.approval && view.approval.state !== 'pending') delete view.approval.pageUrl;
  return view;
}

/** One line a person reads: the release, its phase, and each member's phase. */
export function summarizeRelease(v: ReleaseView): string {
  const members = v.members
    .map((m) => `${m.app}=${m.rollout?.phase ?? m.phase ?? 'pending'}${m.promoted ? '*' : ''}`)
    .join(' ');
  const outcome = v.outcome ? ` → ${v.outcome}${v.reason ? `: ${v.reason}` : ''}` : '';
  return `${v.id} [${v.phase}] ${v.name} ${members}${outcome}`;
}
