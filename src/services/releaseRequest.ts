import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { z } from 'zod';
import type { RolloutStore } from '../adapters/redis/rolloutStore';
import type { ReleaseAdmissionOutcome } from '../domain/audit';
import { parseImage, sameImage, type ImageRef } from '../domain/image';
import type { Policy } from '../domain/policy';
import { buildReleaseInput } from '../domain/release/plan';
import type { ReleaseInput, ReleasePolicy, ReleaseStatus } from '../domain/release/types';
import { imageAllowed } from '../domain/request/allowed';
import type { RolloutTrigger } from '../domain/rollout/types';
import { Events, Orchestrators } from '../names';
import { raiseQuietly, tryGetStatus } from './admission';

/** `POST /api/releases`: the release's name, one image per member, and why (recorded). */
export const releaseRequestBody = z.strictObject({
  release: z
    .string({ message: "name the release: the `name` of a `kind: Release` policy, e.g. 'shop'" })
    .min(1, "name the release: the `name` of a `kind: Release` policy, e.g. 'shop'")
    .max(100, 'must be at most 100 characters'),
  images: z.record(
    z.string().min(1).max(100),
    z
      .string({ message: 'give the image as registry/repository:tag (optionally @sha256:digest)' })
      .min(1, 'give the image as registry/repository:tag (optionally @sha256:digest)'),
    { message: 'give one image per member: { "<member policy name>": "registry/repository:tag" }' },
  ),
  reason: z.string().max(500, 'must be at most 500 characters').optional(),
});
export type ReleaseRequestBody = z.infer<typeof releaseRequestBody>;

/** A problem with a request, naming the field and the fix; `status` is the HTTP status it deserves. */
export interface ReleaseRequestProblem {
  status: number;
  type: string;
  title: string;
  detail: string;
  problems: { field: string; message: string }[];
}

export interface ResolvedRelease {
  policy: ReleasePolicy;
  /** In the release's member order. */
  images: Record<string, ImageRef>;
}

/**
 * Checks a request against the loaded policies: the release exists, every member has exactly one image,
 * nothing else is named, and each image is one its member's policy allows over HTTP (`checkAllowed`; a
 * gathered push was matched by the member's trigger already). Every problem is listed at once.
 */
export function resolveRelease(
  releases: readonly ReleasePolicy[],
  policies: readonly Policy[],
  body: { release: string; images: Record<string, string | { image: string; digest?: string }> },
  opts: { checkAllowed: boolean },
): { ok: true; value: ResolvedRelease } | { ok: false; problem: ReleaseRequestProblem } {
  const policy = releases.find((r) => r.name === body.release);
  if (!policy) {
    const known = releases.map((r) => r.name).join(', ') || 'none loaded';
    return {
      ok: false,
      problem: {
        status: 404,
        type: 'unknown-release',
        title: 'No such release',
        detail: `release: no release policy is named '${body.release.slice(0, 100)}'; known releases: ${known}. Add a \`kind: Release\` policy or fix the name.`,
        problems: [
          { field: 'release', message: `no release policy is named '${body.release.slice(0, 100)}'` },
        ],
      },
    };
  }
  const shape: { field: string; message: string }[] = [];
  const refused: { field: string; message: string }[] = [];
  const images: Record<string, ImageRef> = {};
  for (const given of Object.keys(body.images)) {
    if (!policy.members.includes(given)) {
      shape.push({
        field: `images.${given.slice(0, 100)}`,
        message: `'${given.slice(0, 100)}' is not a member of release ${policy.name}; its members are ${policy.members.join(', ')}`,
      });
    }
  }
  for (const member of policy.members) {
    const field = `images.${member}`;
    const raw = body.images[member];
    if (raw === undefined) {
      shape.push({
        field,
        message: `missing: every member needs an image; add "${member}": "<registry>/<repository>:<tag>"`,
      });
      continue;
    }
    const text = typeof raw === 'string' ? raw : raw.image;
    const parsed = parseImage(text, typeof raw === 'string' ? undefined : raw.digest);
    if (!parsed.ok) {
      shape.push({ field, message: parsed.message });
      continue;
    }
    const app = policies.find((p) => p.name === member);
    if (!app) {
      shape.push({
        field,
        message: `no app policy is named '${member}' (the release policy is out of date)`,
      });
      continue;
    }
    if (opts.checkAllowed) {
      const verdict = imageAllowed(app, parsed.image);
      if (!verdict.allowed) {
        refused.push({ field, message: verdict.detail });
        continue;
      }
    }
    images[member] = parsed.image;
  }
  if (shape.length > 0) {
    return {
      ok: false,
      problem: {
        status: 400,
        type: 'invalid-request',
        title: 'Invalid release request',
        detail: shape.map((p) => `${p.field}: ${p.message}`).join('; '),
        problems: shape,
      },
    };
  }
  if (refused.length > 0) {
    return {
      ok: false,
      problem: {
        status: 403,
        type: 'image-not-allowed',
        title: 'Image not allowed by the member policy',
        detail: refused.map((p) => `${p.field}: ${p.message}`).join('; '),
        problems: refused,
      },
    };
  }
  return { ok: true, value: { policy, images } };
}

export type ReleaseAdmission =
  | { kind: 'started'; releaseId: string }
  | { kind: 'duplicate'; releaseId: string }
  | { kind: 'queued'; releaseId: string; behind: string }
  | { kind: 'superseding'; releaseId: string; superseded: string }
  | { kind: 'rejected'; releaseId: string; running: string; detail: string };

export interface ReleaseRequestDeps {
  client: DurableClient;
  store: RolloutStore;
  now?: () => number;
  /** Records the outcome in the audit trail, once per request. */
  audit?: (outcome: ReleaseAdmissionOutcome) => Promise<void>;
}

export interface ReleaseRequest {
  resolved: ResolvedRelease;
  policies: readonly Policy[];
  trigger: RolloutTrigger;
  reason?: string;
}

const finished = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

/** The member images of a release instance, from its input. */
function imagesOf(input: ReleaseInput | undefined): Map<string, ImageRef> {
  const out = new Map<string, ImageRef>();
  for (const m of input?.members ?? []) {
    const parsed = parseImage(m.input.image, m.input.digest);
    if (parsed.ok) out.set(m.app, parsed.image);
  }
  return out;
}

export interface RunningRelease {
  id: string;
  input: ReleaseInput | undefined;
  createdAt: number;
  phase?: ReleaseStatus['phase'];
}

/** Every release instance of `name` that has not ended, oldest first, with its input. */
export async function runningReleases(client: DurableClient, name: string): Promise<RunningRelease[]> {
  const running = await client.getStatusBy({ runtimeStatus: ['Running', 'Pending'] as never });
  const out: RunningRelease[] = [];
  for (const s of running.filter((r) => r.name === Orchestrators.release)) {
    const custom = s.customStatus as Partial<ReleaseStatus> | null | undefined;
    if (custom?.name !== undefined && custom.name !== name) continue;
    const full = await tryGetStatus(client, s.instanceId, { showInput: true });
    if (!full || finished.has(String(full.runtimeStatus))) continue;
    const input = full.input as ReleaseInput | undefined;
    if ((custom?.name ?? input?.plan.name) !== name) continue;
    const phase = (full.customStatus as Partial<ReleaseStatus> | null | undefined)?.phase;
    out.push({
      id: s.instanceId,
      input,
      createdAt: new Date(full.createdTime).getTime(),
      ...(phase ? { phase } : {}),
    });
  }
  return out.sort((a, b) => a.createdAt - b.createdAt);
}

/**
 * Request a release, for HTTP and for a completed gathering alike: a repeat of a running release's image
 * set (or of one in its undo window) is that release; otherwise the release policy's concurrency decides against a running release of
 * the same name (supersede: it is aborted and the new one waits for its apps; queue: the new one waits;
 * reject: refused). The release itself waits (`Queued`) until no rollout or release holds a member app.
 * Every outcome goes to the trigger ledger, one row per member.
 */
export async function requestRelease(
  deps: ReleaseRequestDeps,
  req: ReleaseRequest,
): Promise<ReleaseAdmission> {
  const { client, store } = deps;
  const now = deps.now?.() ?? Date.now();
  const { policy, images } = req.resolved;
  const record = async (decision: string, releaseId?: string, detail?: string) => {
    for (const member of policy.members) {
      const image = images[member];
      const app = req.policies.find((p) => p.name === member)?.app.name ?? member;
      await store.recordTrigger({
        at: new Date(now).toISOString(),
        source: req.trigger.kind === 'eventGrid' ? 'eventGrid' : 'http',
        ...(req.trigger.eventId !== undefined ? { eventId: req.trigger.eventId } : {}),
        app,
        image: image?.reference ?? '-',
        ...(image?.digest ? { digest: image.digest } : {}),
        decision: `release ${decision}`,
        ...(releaseId ? { rolloutId: releaseId } : {}),
        detail: `release ${policy.name}${detail ? `: ${detail}` : ''}`,
      });
    }
  };
  const done = async (admission: ReleaseAdmission): Promise<ReleaseAdmission> => {
    const detail =
      admission.kind === 'queued'
        ? `behind ${admission.behind}`
        : admission.kind === 'superseding'
          ? `supersedes ${admission.superseded}`
          : admission.kind === 'rejected'
            ? admission.detail
            : undefined;
    await record(admission.kind, admission.releaseId, detail);
    await deps.audit?.(admission);
    return admission;
  };

  const running = await runningReleases(client, policy.name);
  const same = running.find((r) => {
    const had = imagesOf(r.input);
    return policy.members.every((m) => {
      const a = had.get(m);
      const b = images[m];
      return a !== undefined && b !== undefined && sameImage(a, b);
    });
  });
  if (same) return done({ kind: 'duplicate', releaseId: same.id });

  // The id follows the newest release of this name, so the same images after a finished release are new.
  let input = buildReleaseInput(policy, req.policies, images, req.trigger, new Date(now), {
    ...(req.reason !== undefined ? { reason: req.reason } : {}),
  });
  for (let i = 1; i < 20; i++) {
    const used = await tryGetStatus(client, input.releaseId);
    if (!used) break;
    input = buildReleaseInput(policy, req.policies, images, req.trigger, new Date(now), {
      after: `${input.releaseId}:${i}`,
      ...(req.reason !== undefined ? { reason: req.reason } : {}),
    });
  }
  // A release in its undo window (Succeeded) has let its apps go: it neither holds nor is superseded.
  const active = running.filter((r) => r.phase !== 'Succeeded');
  const holder = active[active.length - 1];
  if (holder && policy.concurrency === 'reject') {
    return done({
      kind: 'rejected',
      releaseId: input.releaseId,
      running: holder.id,
      detail: `release ${holder.id} is in progress and release ${policy.name} has concurrency 'reject'; wait for it to finish, abort it (POST /api/releases/${holder.id}/abort), or set concurrency to 'queue' or 'supersede'`,
    });
  }
  if (holder && policy.concurrency === 'supersede') {
    for (const r of active) {
      await raiseQuietly(client, r.id, Events.abort, {
        by: 'greenlight',
        reason: `superseded by ${input.releaseId}`,
      });
    }
  }
  try {
    await client.startNew(Orchestrators.release, { instanceId: input.releaseId, input });
  } catch (e) {
    // The same request at the same moment: the other one started it, so this one is its duplicate.
    const now = await tryGetStatus(client, input.releaseId);
    if (!now || finished.has(String(now.runtimeStatus))) throw e;
    return done({ kind: 'duplicate', releaseId: input.releaseId });
  }
  if (!holder) return done({ kind: 'started', releaseId: input.releaseId });
  return done(
    policy.concurrency === 'supersede'
      ? { kind: 'superseding', releaseId: input.releaseId, superseded: holder.id }
      : { kind: 'queued', releaseId: input.releaseId, behind: holder.id },
  );
}

/** Releases for a list: running ones first, then newest first. */
export function sortReleases<T extends { done: boolean; createdAt: string }>(views: T[]): T[] {
  return [...views].sort((a, b) =>
    a.done !== b.done ? (a.done ? 1 : -1) : b.createdAt.localeCompare(a.createdAt),
  );
}

export type { DurableOrchestrationStatus };
