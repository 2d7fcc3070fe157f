import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task, TimerTask } from 'durable-functions';
import { z } from 'zod';
import {
  GatherActivities,
  gatherPushEvent,
  type GatherInput,
  type GatherOutcome,
  type GatherPush,
  type GatherStatus,
  type IncompleteGatherInput,
  type StartGatheredInput,
} from '../domain/releaseGather';
import { Orchestrators } from '../names';
import { stepRetry } from './retry';
import { anyOf } from './anyOf';

/** Pushes kept in the status: the newest per member and a short tail, so history and status stay small. */
const maxPushes = 20;
const maxIgnored = 10;

const pushSchema = z.strictObject({
  app: z.string().min(1).max(200),
  image: z.string().min(1).max(500),
  digest: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/)
    .optional(),
  eventId: z.string().max(200).optional(),
  at: z.iso.datetime({ offset: true }),
});

/**
 * Gathers the pushes of one release (its name and tag key) until every member has an image, then starts
 * the release once; if the window closes first, records that nothing started. A push is raised in as an
 * event and validated: a malformed one, or one for an app that is not a member, is recorded and ignored.
 */
export const releaseGatherOrchestrator: OrchestrationHandler = function* (
  context: OrchestrationContext,
): Generator<Task, GatherOutcome, unknown> {
  const input = context.df.getInput<GatherInput>();
  // The window runs on the orchestration's own clock, from its first step (the same on every replay).
  const closesAt = new Date(context.df.currentUtcDateTime.getTime() + input.windowMs);
  const status: GatherStatus = {
    release: input.release,
    key: input.key,
    state: 'Gathering',
    members: input.members,
    images: {},
    missing: [...input.members],
    pushes: [],
    openedAt: input.openedAt,
    closesAt: closesAt.toISOString(),
  };
  const take = (push: GatherPush): void => {
    status.images[push.app] = push.digest
      ? { image: push.image, digest: push.digest }
      : { image: push.image };
    status.missing = input.members.filter((m) => !status.images[m]);
    status.pushes = [...status.pushes, push].slice(-maxPushes);
  };
  const ignore = (problem: string): void => {
    const at = context.df.currentUtcDateTime.toISOString();
    status.ignoredEvents = [...(status.ignoredEvents ?? []), { at, problem }].slice(-maxIgnored);
  };
  take(input.first);
  context.df.setCustomStatus(status);

  let timer: TimerTask | undefined;
  while (status.missing.length > 0) {
    timer ??= context.df.createTimer(closesAt);
    const pushed = context.df.waitForExternalEvent(gatherPushEvent);
    // One timer for the whole window, waited for again after each push: `anyOf` sends it once.
    const winner: unknown = yield anyOf(context, [timer, pushed]);
    if (winner === timer) break;
    const parsed = pushSchema.safeParse(pushed.result);
    if (!parsed.success) {
      ignore(
        `malformed push ignored: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ')}`,
      );
    } else if (!input.members.includes(parsed.data.app)) {
      ignore(`push for '${parsed.data.app}' ignored: not a member of release ${input.release}`);
    } else {
      take(parsed.data);
    }
    context.df.setCustomStatus(status);
  }

  if (status.missing.length > 0) {
    status.state = 'Incomplete';
    context.df.setCustomStatus(status);
    const incomplete: IncompleteGatherInput = {
      release: input.release,
      key: input.key,
      gathering: context.df.instanceId,
      openedAt: input.openedAt,
      images: status.images,
      missing: status.missing,
      closedAt: closesAt.toISOString(),
    };
    yield context.df.callActivityWithRetry(GatherActivities.recordIncomplete, stepRetry, incomplete);
    return { state: 'Incomplete', missing: status.missing };
  }
  if (timer && !timer.isCompleted) timer.cancel();
  const start: StartGatheredInput = {
    release: input.release,
    key: input.key,
    gathering: context.df.instanceId,
    openedAt: input.openedAt,
    images: status.images,
    eventIds: status.pushes.flatMap((p) => (p.eventId ? [p.eventId] : [])),
  };
  const started: unknown = yield context.df.callActivityWithRetry(GatherActivities.start, stepRetry, start);
  const outcome = started as GatherOutcome;
  status.state = outcome.state;
  if (outcome.releaseId) status.releaseId = outcome.releaseId;
  if (outcome.detail) status.detail = outcome.detail;
  context.df.setCustomStatus(status);
  return outcome;
};

df.app.orchestration(Orchestrators.releaseGather, releaseGatherOrchestrator);
