import { createHash } from 'node:crypto';
import { GreenlightError } from '../errors';
import type { MockSpec } from '../flag/validation';
import { imageIdentity, type ImageRef } from '../image';
import type { Policy } from '../policy';
import { revisionSuffixFor } from '../revisionSuffix';
import type { RolloutInput, RolloutPlan, RolloutTrigger } from '../rollout/types';

/** The plan the orchestration carries: the policy frozen at admission, durations in milliseconds. */
export function planFromPolicy(policy: Policy): RolloutPlan {
  const v = policy.validation;
  const strategy: RolloutPlan['strategy'] =
    policy.strategy.type === 'traffic'
      ? {
          type: 'traffic',
          steps: policy.strategy.steps,
          stepPauseMs: policy.strategy.stepPause,
          recheckSmokeEachStep: policy.strategy.recheckSmokeEachStep,
        }
      : {
          type: 'flag',
          prodUrlSetting: policy.strategy.bindings.prod.urlSetting,
          tempUrlSetting: policy.strategy.bindings.temp.urlSetting,
          keyPrefix: policy.strategy.keyPrefix,
          flipDeadlineMs: policy.strategy.flipDeadline,
          mock: mockSpec(policy),
          progress: {
            log: policy.strategy.progress.log,
            maxLagFrames: policy.strategy.progress.maxLagFrames,
          },
          leaseTtlMs: policy.strategy.leaseTtl,
          guard: { enabled: policy.strategy.guard.enabled },
        };
  return {
    policyName: policy.name,
    app: {
      subscriptionId: policy.app.subscriptionId,
      resourceGroup: policy.app.resourceGroup,
      name: policy.app.name,
    },
    ...(policy.app.container ? { containerName: policy.app.container } : {}),
    strategy,
    readiness: { timeoutMs: v.readiness.timeout, pollIntervalMs: v.readiness.pollInterval },
    smoke: v.smoke.map((c, i) => ({
      name: c.name ?? `${c.method} ${c.path}#${i + 1}`,
      path: c.path,
      method: c.method,
      expectStatus: c.expectStatus,
      ...(c.bodyContains !== undefined ? { bodyContains: c.bodyContains } : {}),
      latencyBudgetMs: c.latencyBudget,
      retries: c.retries,
    })),
    ...(v.dependencies ? { dependencies: v.dependencies } : {}),
    gates: policy.gates.map((g) => ({
      name: g.name,
      provider: g.provider,
      query: g.query,
      intervalMs: g.interval,
      count: g.count,
      successCondition: g.successCondition,
      ...(g.failureCondition !== undefined ? { failureCondition: g.failureCondition } : {}),
      failureLimit: g.failureLimit,
      inconclusiveLimit: g.inconclusiveLimit,
      consecutiveErrorLimit: g.consecutiveErrorLimit,
      ...(g.minSampleSize !== undefined ? { minSampleSize: g.minSampleSize } : {}),
      ...(g.consecutiveSuccessLimit > 0 ? { consecutiveSuccessLimit: g.consecutiveSuccessLimit } : {}),
      ...(g.dryRun ? { dryRun: true } : {}),
      errorIntervalMs: g.errorInterval,
      ...(g.initialDelay > 0 ? { initialDelayMs: g.initialDelay } : {}),
      ...(g.accumulate !== undefined ? { accumulate: g.accumulate } : {}),
      phases: g.phases,
      ...(g.aggregation !== undefined ? { aggregation: g.aggregation } : {}),
      ...(g.filter !== undefined ? { filter: g.filter } : {}),
      ...(g.ratioTo !== undefined ? { ratioTo: g.ratioTo } : {}),
      ...(g.workspaceId !== undefined ? { workspaceId: g.workspaceId } : {}),
      ...(g.address !== undefined ? { address: g.address } : {}),
      ...(g.jsonPath !== undefined ? { jsonPath: g.jsonPath } : {}),
      ...(g.sampleSize !== undefined ? { sampleSize: g.sampleSize } : {}),
      ...(g.lag !== undefined ? { lagMs: g.lag } : {}),
      onInconclusive: g.onInconclusive,
    })),
    approval: {
      required: policy.approval.required,
      timeoutMs: policy.approval.timeout,
      onTimeout: policy.approval.onTimeout,
      approvers: policy.approval.approvers,
      ...(policy.approval.remindBefore !== undefined ? { remindBeforeMs: policy.approval.remindBefore } : {}),
    },
    bakeMs: policy.bake,
    watch: { durationMs: policy.watch.duration, intervalMs: policy.watch.interval },
    cleanup: {
      deactivateAfterMs: policy.cleanup.deactivateAfter,
      keepRevisions: policy.cleanup.keepRevisions,
      ...(policy.cleanup.undoWindow !== undefined ? { undoWindowMs: policy.cleanup.undoWindow } : {}),
      ...(policy.cleanup.remindBeforeUndoCloses !== undefined
        ? { remindBeforeUndoClosesMs: policy.cleanup.remindBeforeUndoCloses }
        : {}),
    },
    rollback: { retryForMs: policy.rollback.retryFor, maxIntervalMs: policy.rollback.maxInterval },
    ...(policy.changeControl ? { changeControl: policy.changeControl } : {}),
    guardrails: policy.guardrails,
    ...(policy.notifications.length ? { notifications: policy.notifications } : {}),
  };
}

/**
 * The rollout id: the app, the image (its digest when known) and the rollout this one follows. The same
 * request repeated while nothing else happened names the same instance (a redelivered event or a
 * repeated CI call joins it); the same image after another rollout of the app is a new instance.
 */
export function rolloutIdFor(policy: Policy, image: ImageRef, after?: string): string {
  const app = `${policy.app.subscriptionId}/${policy.app.resourceGroup}/${policy.app.name}`;
  const key = `${app}|${imageIdentity(image)}${after ? `|after:${after}` : ''}`;
  return `${policy.app.name}-${createHash('sha256').update(key.toLowerCase()).digest('hex').slice(0, 12)}`;
}

/** The orchestration input for rolling `image` out under `policy`. */
export function buildRolloutInput(
  policy: Policy,
  image: ImageRef,
  trigger: RolloutTrigger,
  opts: { after?: string; requestedAt?: Date } = {},
): RolloutInput {
  const rolloutId = rolloutIdFor(policy, image, opts.after);
  // A repeated image gets a revision of its own: the earlier one may be retired, failed or deactivated.
  const revisionSuffix = opts.after
    ? revisionSuffixFor(image.reference, `${imageIdentity(image)}|${rolloutId}`)
    : revisionSuffixFor(image.reference, image.digest);
  return {
    rolloutId,
    plan: planFromPolicy(policy),
    image: image.reference,
    ...(image.digest ? { digest: image.digest } : {}),
    revisionSuffix,
    trigger,
    requestedAt: (opts.requestedAt ?? new Date()).toISOString(),
  };
}

function mockSpec(policy: Policy): MockSpec {
  const m = policy.validation.mock;
  if (!m) {
    // The schema requires it for strategy 'flag'; this guards a hand-built policy object.
    throw new GreenlightError(
      'InvalidRequest',
      `policy '${policy.name}' has strategy 'flag' but no validation.mock`,
      {
        policy: policy.name,
      },
    );
  }
  return {
    deadlineMs: m.deadline,
    minRecords: m.minRecords,
    requiredFields: m.requiredFields,
    ...(m.consumerGroup !== undefined ? { consumerGroup: m.consumerGroup } : {}),
    maxLag: m.maxLag,
    maxErrors: m.maxErrors,
    ...(m.sequenceField !== undefined ? { sequenceField: m.sequenceField } : {}),
    maxGap: m.maxGap,
  };
}
