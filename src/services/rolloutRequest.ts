import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import type { RolloutStore } from '../adapters/redis/rolloutStore';
import { GreenlightError } from '../domain/errors';
import { parseImage, type ImageRef } from '../domain/image';
import type { Override } from '../domain/changeControl';
import type { Policy } from '../domain/policy';
import { imageAllowed } from '../domain/request/allowed';
import { duplicateOf, type PriorRollout } from '../domain/request/duplicate';
import {
  buildRolloutInput as buildInput,
  planFromPolicy,
  rolloutIdFor as idFor,
} from '../domain/request/plan';
import type { RolloutInput, RolloutStatus, RolloutTrigger } from '../domain/rollout/types';
import { Orchestrators } from '../names';
import { admitRollout, tryGetStatus, type Admission } from './admission';
import { admitChangeControl, type ChangeControlDeps } from './changeControl';

export { planFromPolicy };

/** Parses the image text a caller gave; a `GreenlightError('InvalidRequest')` names what is wrong. */
export function imageOrThrow(text: string, digest?: string): ImageRef {
  const parsed = parseImage(text, digest);
  if (!parsed.ok) throw new GreenlightError('InvalidRequest', parsed.message, { image: text });
  return parsed.image;
}

/** The rollout id for an image given as text (see `rolloutIdFor` in the domain). */
export function rolloutIdFor(policy: Policy, image: string, digest?: string, after?: string): string {
  return idFor(policy, imageOrThrow(image, digest), after);
}

/** The orchestration input for an image given as text; throws InvalidRequest for a bad image or digest. */
export function buildRolloutInput(
  policy: Policy,
  image: string,
  digest: string | undefined,
  trigger: RolloutTrigger,
  requestedAt: Date = new Date(),
): RolloutInput {
  return buildInput(policy, imageOrThrow(image, digest), trigger, { requestedAt });
}

export interface RolloutRequest {
  policy: Policy;
  image: ImageRef;
  trigger: RolloutTrigger;
  /** HTTP requests must stay within the images the policy allows; pushes were matched by its trigger. */
  checkAllowed: boolean;
  /** Lets this rollout start while production is closed (never through an emergency stop). */
  override?: Override;
}

/** `changeControl`: refused by a freeze, the deploy windows or an emergency stop (not by the image rules). */
export type RequestOutcome =
  { kind: 'refused'; rule: string; detail: string; changeControl?: true } | Admission;

export interface RequestDeps {
  client: DurableClient;
  store: RolloutStore;
  now?: () => number;
  /** Deploy windows, freezes and emergency stops; without it, production is always open. */
  changeControl?: ChangeControlDeps;
  /** Records the outcome in the audit trail: called once per request, with what was decided. */
  audit?: (outcome: RequestOutcome) => Promise<void>;
}

const finished = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

/**
 * Request a rollout, for both triggers: check the image against the policy, treat a repeat of a running
 * or just-succeeded image as the same rollout, else admit a new one (start, queue, supersede or reject
 * per the policy) and record it as the app's latest. Every outcome goes to the trigger ledger.
 */
export async function requestRollout(
  deps: RequestDeps,
  req: RolloutRequest,
  ledger: { source: 'eventGrid' | 'http'; eventId?: string },
): Promise<RequestOutcome> {
  const { client, store } = deps;
  const now = deps.now?.() ?? Date.now();
  const { policy, image } = req;
  const app = policy.app;
  const record = (decision: string, rolloutId?: string, detail?: string) =>
    store.recordTrigger({
      at: new Date(now).toISOString(),
      source: ledger.source,
      ...(ledger.eventId !== undefined ? { eventId: ledger.eventId } : {}),
      app: app.name,
      image: image.reference,
      ...(image.digest ? { digest: image.digest } : {}),
      decision,
      ...(rolloutId ? { rolloutId } : {}),
      ...(detail ? { detail } : {}),
    });

  if (req.checkAllowed) {
    const verdict = imageAllowed(policy, image);
    if (!verdict.allowed) {
      await record('refused', undefined, `${verdict.rule}: ${verdict.detail}`);
      const refused: RequestOutcome = { kind: 'refused', rule: verdict.rule, detail: verdict.detail };
      await deps.audit?.(refused);
      return refused;
    }
  }

  const latest = await store.latestRollout(app);
  const holder = await store.activeRollout(app);
  const active: PriorRollout[] = [];
  if (holder) {
    const prior = await priorOf(client, holder);
    if (prior) active.push(prior);
  }
  for (const q of await store.queued(app)) {
    const input = q.input as Partial<RolloutInput> | undefined;
    const parsed = input?.image ? parseImage(input.image, input.digest) : undefined;
    if (parsed?.ok) active.push({ rolloutId: q.rolloutId, image: parsed.image, state: 'queued' });
  }
  let latestPrior: PriorRollout | undefined;
  if (latest) {
    latestPrior =
      active.find((p) => p.rolloutId === latest.rolloutId) ?? (await priorOf(client, latest.rolloutId));
  }
  const same = duplicateOf(image, { active, ...(latestPrior ? { latest: latestPrior } : {}) }, now);
  if (same) {
    await record('duplicate', same);
    await deps.audit?.({ kind: 'duplicate', rolloutId: same });
    return { kind: 'duplicate', rolloutId: same };
  }

  // Change control: a closed production refuses, or the rollout starts waiting for the next opening.
  const admitted = deps.changeControl
    ? await admitChangeControl(deps.changeControl, app, policy.changeControl, req.override)
    : undefined;
  const cc = admitted?.admission;
  if (cc?.verdict === 'reject') {
    await record('refused', undefined, `${cc.rule}: ${cc.reason}`);
    const refused: RequestOutcome = {
      kind: 'refused',
      rule: cc.rule,
      detail: cc.reason,
      changeControl: true,
    };
    await deps.audit?.(refused);
    return refused;
  }
  const ccDetail =
    cc && cc.verdict !== 'open' ? `change control ${cc.verdict} (${cc.rule}): ${cc.reason}` : undefined;

  // The id follows the app's latest rollout. Should that record be gone (Redis restored empty), an id
  // already used by a finished rollout is skipped, so the image is still rolled out anew.
  let after = latest?.rolloutId;
  let input = buildInput(policy, image, req.trigger, {
    ...(after ? { after } : {}),
    requestedAt: new Date(now),
  });
  for (let i = 0; i < 20; i++) {
    const used = await tryGetStatus(client, input.rolloutId);
    if (!used || !finished.has(String(used.runtimeStatus))) break;
    after = input.rolloutId;
    input = buildInput(policy, image, req.trigger, { after, requestedAt: new Date(now) });
  }
  if (admitted) input = { ...input, changeControl: admitted };
  const admission = await admitRollout({ client, store }, input, policy.concurrency);
  if (admission.kind !== 'rejected' && admission.kind !== 'duplicate') {
    await store.setLatestRollout(app, {
      rolloutId: admission.rolloutId,
      image: image.reference,
      ...(image.digest ? { digest: image.digest } : {}),
    });
  }
  await record(admission.kind, admission.rolloutId, ccDetail);
  await deps.audit?.(admission);
  return admission;
}

/** What a rollout instance is doing, with its image, from the durable status (undefined when unknown). */
async function priorOf(client: DurableClient, rolloutId: string): Promise<PriorRollout | undefined> {
  const status = await tryGetStatus(client, rolloutId, { showInput: true });
  if (!status || status.name !== Orchestrators.rollout) return undefined;
  const input = status.input as Partial<RolloutInput> | undefined;
  const parsed = input?.image ? parseImage(input.image, input.digest) : undefined;
  if (!parsed?.ok) return undefined;
  return { rolloutId, image: parsed.image, ...stateOf(status) };
}

function stateOf(status: DurableOrchestrationStatus): Pick<PriorRollout, 'state' | 'finishedAt'> {
  const runtime = String(status.runtimeStatus);
  if (!finished.has(runtime)) return { state: 'running' };
  const custom = status.customStatus as Partial<RolloutStatus> | undefined;
  const succeeded = runtime === 'Completed' && custom?.outcome === 'Succeeded';
  return {
    state: succeeded ? 'succeeded' : 'failed',
    finishedAt: new Date(status.lastUpdatedTime).getTime(),
  };
}
