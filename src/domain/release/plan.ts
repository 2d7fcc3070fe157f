import { GreenlightError } from '../errors';
import type { ImageRef } from '../image';
import type { Policy } from '../policy/schema';
import { buildRolloutInput } from '../request/plan';
import type { RolloutInput, RolloutPlan, RolloutTrigger } from '../rollout/types';
import { memberRolloutId, releaseIdFor } from './ids';
import type { ReleaseInput, ReleasePlan, ReleasePolicy } from './types';

/** A member's own undo window (absent: its cleanup delay). */
function undoWindowOf(plan: RolloutPlan): number {
  return plan.cleanup.undoWindowMs ?? plan.cleanup.deactivateAfterMs;
}

/** The release orchestration's plan; `members` are the loaded app policies of its members, in order. */
export function planFromRelease(release: ReleasePolicy, members: readonly RolloutPlan[]): ReleasePlan {
  const smallestUndo = members.length ? Math.min(...members.map(undoWindowOf)) : 0;
  return {
    name: release.name,
    order: release.order,
    members: [...release.members],
    approval: {
      required: release.approval.required,
      timeoutMs: release.approval.timeout,
      onTimeout: release.approval.onTimeout,
      approvers: [...release.approval.approvers],
    },
    bakeMs: release.bake,
    watch: { durationMs: release.watch?.duration ?? 0, intervalMs: release.watch?.interval ?? 60_000 },
    undoWindowMs: release.undoWindow ?? smallestUndo,
    concurrency: release.concurrency,
    queue: { pollIntervalMs: release.queue.pollInterval, timeoutMs: release.queue.timeout },
  };
}

/**
 * A member's plan under the release: it watches at least the release's watch, and its undo window lasts
 * at least the release's, so an undo of the release finds every member still restorable.
 */
export function memberPlan(plan: RolloutPlan, release: ReleasePlan): RolloutPlan {
  const watch =
    release.watch.durationMs > plan.watch.durationMs
      ? {
          durationMs: release.watch.durationMs,
          intervalMs: plan.watch.durationMs > 0 ? plan.watch.intervalMs : release.watch.intervalMs,
        }
      : plan.watch;
  const undoWindowMs = Math.max(undoWindowOf(plan), release.undoWindowMs);
  return { ...plan, watch, cleanup: { ...plan.cleanup, undoWindowMs } };
}

/**
 * The release orchestration's input: each member's rollout input in member mode, in promotion order.
 * `images` maps each member's app policy name to its image; every member needs one and nothing else is
 * accepted (the caller checks each image against its member's policy, as for a single rollout).
 */
export function buildReleaseInput(
  release: ReleasePolicy,
  appPolicies: readonly Policy[],
  images: Record<string, ImageRef>,
  trigger: RolloutTrigger,
  now: Date,
  opts: { after?: string; reason?: string } = {},
): ReleaseInput {
  const problems: string[] = [];
  const policies = release.members.map((m) => {
    const p = appPolicies.find((x) => x.name === m);
    if (!p) problems.push(`members: no app policy is named '${m}'`);
    if (!images[m]) problems.push(`images.${m}: release '${release.name}' needs an image for member '${m}'`);
    return p;
  });
  for (const app of Object.keys(images)) {
    if (!release.members.includes(app)) {
      problems.push(
        `images.${app}: '${app}' is not a member of release '${release.name}' (members: ${release.members.join(', ')})`,
      );
    }
  }
  if (problems.length > 0) {
    throw new GreenlightError('InvalidRequest', problems.join('; '), { problems });
  }
  const releaseId = releaseIdFor(release.name, images, opts.after);
  const rolloutInputs = policies.map((p) =>
    buildRolloutInput(p!, images[p!.name]!, trigger, { requestedAt: now }),
  );
  const plan = planFromRelease(
    release,
    rolloutInputs.map((i) => i.plan),
  );
  const members = release.members.map((app, i) => {
    const rolloutId = memberRolloutId(releaseId, app);
    const own = rolloutInputs[i]!;
    const input: RolloutInput = {
      ...own,
      rolloutId,
      plan: memberPlan(own.plan, plan),
      release: { releaseId, parentInstanceId: releaseId, app },
    };
    return { app, rolloutId, input };
  });
  return {
    releaseId,
    plan,
    members,
    trigger,
    requestedAt: now.toISOString(),
    ...(opts.reason ? { reason: opts.reason } : {}),
  };
}
