import type { DurableOrchestrationStatus } from 'durable-functions';
import type { RolloutInput, RolloutStatus } from '../domain/rollout/types';
import type { RolloutPhase } from '../domain/rollout/phase';

/**
 * The documented shape of `GET /api/rollouts/{id}`: the orchestration's custom status plus the runtime's
 * view. Fields are only added, never renamed (see README "Rollout status").
 */
export interface RolloutView extends Omit<RolloutStatus, 'phase'> {
  id: string;
  /** Durable runtime status: Pending | Running | Completed | Failed | Terminated | Suspended. */
  runtimeStatus: string;
  phase: RolloutPhase | 'Crashed' | 'Terminated';
  createdAt: string;
  lastUpdatedAt: string;
  /** True once nothing more will happen to this rollout. */
  done: boolean;
}

export function toRolloutView(status: DurableOrchestrationStatus): RolloutView {
  const custom = status.customStatus as RolloutStatus | undefined;
  const input = status.input as RolloutInput | undefined;
  const runtimeStatus = String(status.runtimeStatus);
  const base: RolloutStatus = custom ?? {
    rolloutId: status.instanceId,
    app: input?.plan.app ?? { subscriptionId: '', resourceGroup: '', name: '' },
    image: input?.image ?? '',
    strategy: input?.plan.strategy.type ?? 'traffic',
    phase: 'Initializing',
    blue: [],
    checks: {},
    gates: [],
    approval: { state: input?.plan.approval.required ? 'upcoming' : 'notRequired' },
    timeline: [],
    updatedAt: new Date(status.lastUpdatedTime).toISOString(),
  };
  const view: RolloutView = {
    ...base,
    id: status.instanceId,
    runtimeStatus,
    createdAt: new Date(status.createdTime).toISOString(),
    lastUpdatedAt: new Date(status.lastUpdatedTime).toISOString(),
    done: ['Completed', 'Failed', 'Terminated', 'Canceled'].includes(runtimeStatus),
  };
  if (runtimeStatus === 'Failed') {
    // The orchestrator itself failed (a bug, not a rollback): say so plainly with the error.
    view.phase = 'Crashed';
    view.reason = typeof status.output === 'string' ? status.output : JSON.stringify(status.output);
  } else if (runtimeStatus === 'Terminated') {
    view.phase = 'Terminated';
    view.reason = `terminated: ${typeof status.output === 'string' ? status.output : 'no reason given'}`;
  }
  if (view.approval.state !== 'pending') delete view.approval.pageUrl;
  return view;
}

/** One line a person reads in a terminal or a log. */
export function summarizeRollout(v: RolloutView): string {
  const traffic = v.traffic
    ?.filter((t) => t.weight > 0)
    .map((t) => `${t.revisionName}=${t.weight}%`)
    .join(' ');
  const step = v.step ? ` step ${v.step.index + 1}/${v.step.of} (${v.step.weight}%)` : '';
  const outcome = v.outcome ? ` → ${v.outcome}${v.reason ? `: ${v.reason}` : ''}` : '';
  return `${v.id} [${v.phase}]${step} ${v.app.name} ${v.image}${traffic ? ` traffic ${traffic}` : ''}${outcome}`;
}
