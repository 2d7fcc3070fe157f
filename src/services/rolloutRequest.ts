import { createHash } from 'node:crypto';
import { GreenlightError } from '../domain/errors';
import type { Policy } from '../domain/policy';
import { isFullyQualifiedImage, parseImageReference, revisionSuffixFor } from '../domain/revisionSuffix';
import type { MockSpec } from '../domain/flag/validation';
import type { RolloutInput, RolloutPlan, RolloutTrigger } from '../domain/rollout/types';

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
      phases: g.phases,
      ...(g.aggregation !== undefined ? { aggregation: g.aggregation } : {}),
      ...(g.filter !== undefined ? { filter: g.filter } : {}),
      ...(g.ratioTo !== undefined ? { ratioTo: g.ratioTo } : {}),
      ...(g.workspaceId !== undefined ? { workspaceId: g.workspaceId } : {}),
      ...(g.address !== undefined ? { address: g.address } : {}),
      ...(g.jsonPath !== undefined ? { jsonPath: g.jsonPath } : {}),
      ...(g.sampleSize !== undefined ? { sampleSize: g.sampleSize } : {}),
      onInconclusive: g.onInconclusive,
    })),
    approval: {
      required: policy.approval.required,
      timeoutMs: policy.approval.timeout,
      onTimeout: policy.approval.onTimeout,
      approvers: policy.approval.approvers,
    },
    bakeMs: policy.bake,
    watch: { durationMs: policy.watch.duration, intervalMs: policy.watch.interval },
    cleanup: {
      deactivateAfterMs: policy.cleanup.deactivateAfter,
      keepRevisions: policy.cleanup.keepRevisions,
    },
  };
}

/**
 * The rollout id is derived from the app and the image digest (or the reference when no digest is known),
 * so the same image for the same app always names the same orchestration instance: a redelivered event or
 * a repeated CI call joins the existing rollout instead of starting another.
 */
export function rolloutIdFor(policy: Policy, image: string, digest?: string): string {
  const ref = parseImageReference(image);
  const key = `${policy.app.subscriptionId}/${policy.app.resourceGroup}/${policy.app.name}|${digest ?? ref?.digest ?? image}`;
  return `${policy.app.name}-${createHash('sha256').update(key.toLowerCase()).digest('hex').slice(0, 12)}`;
}

export function buildRolloutInput(
  policy: Policy,
  image: string,
  digest: string | undefined,
  trigger: RolloutTrigger,
  requestedAt: Date = new Date(),
): RolloutInput {
  if (!isFullyQualifiedImage(image)) {
    throw new GreenlightError(
      'InvalidRequest',
      `image must name a registry, a repository and a tag or digest, e.g. contoso.azurecr.io/web:1.4.2; got '${image}'`,
      { image },
    );
  }
  if (digest !== undefined && !/^sha256:[a-f0-9]{64}$/.test(digest)) {
    throw new GreenlightError(
      'InvalidRequest',
      `digest must be sha256: followed by 64 lower-case hex digits; got '${digest}'`,
      { digest },
    );
  }
  return {
    rolloutId: rolloutIdFor(policy, image, digest),
    plan: planFromPolicy(policy),
    image,
    ...(digest ? { digest } : {}),
    revisionSuffix: revisionSuffixFor(image, digest),
    trigger,
    requestedAt: requestedAt.toISOString(),
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
  };
}
