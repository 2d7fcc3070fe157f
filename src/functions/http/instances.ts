import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { services } from '../../composition';
import { releaseAuditApp } from '../../domain/audit';
import type { ReleaseInput } from '../../domain/release/types';
import type { RolloutInput } from '../../domain/rollout/types';
import { Orchestrators } from '../../names';
import { tryGetStatus } from '../../services/admission';
import { toReleaseView } from '../../services/releaseView';
import { toRolloutView } from '../../services/rolloutView';
import type { ReleaseMemberFacts } from '../pages/releasePage';

// Loading a rollout or a release, with what its pages show, for the approval and dashboard routes.

/** The image blue runs, for "what replaces what"; the page still renders when it cannot be read. */
export async function blueImageOf(view: { app: RolloutInput['plan']['app']; blue: string[] }) {
  const blue = view.blue[0];
  if (!blue || !view.app.name) return undefined;
  try {
    const lookup = services().containerApps.getRevision(view.app, blue);
    const timeout = new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000).unref());
    return (await Promise.race([lookup, timeout]))?.image;
  } catch {
    return undefined;
  }
}

type Status = DurableOrchestrationStatus;

function rolloutOf(status: Status | undefined) {
  if (!status || status.name !== Orchestrators.rollout) return undefined;
  return { view: toRolloutView(status), input: status.input as RolloutInput | undefined };
}

export async function loadRollout(client: DurableClient, id: string) {
  return rolloutOf(await tryGetStatus(client, id, { showInput: true }));
}

/**
 * A release's approval, in the shape the routes below use for a rollout's: its view (the phase says
 * whether it waits), the approvers, the app the audit names, and each member for the page.
 */
export async function loadRelease(client: DurableClient, id: string) {
  return releaseOf(client, await tryGetStatus(client, id, { showInput: true }));
}

/** A rollout or a release by id, read once: the approval routes take either. */
export async function loadInstance(client: DurableClient, id: string) {
  const status = await tryGetStatus(client, id, { showInput: true });
  return { rollout: rolloutOf(status), release: releaseOf(client, status) };
}

function releaseOf(client: DurableClient, status: Status | undefined) {
  if (!status || status.name !== Orchestrators.release) return undefined;
  const input = status.input as ReleaseInput | undefined;
  const view = toReleaseView(status);
  const members = async (): Promise<ReleaseMemberFacts[]> =>
    Promise.all(
      (input?.members ?? []).map(async (m) => {
        const member = await loadRollout(client, m.rolloutId);
        return {
          app: m.app,
          ...(member ? { rollout: member.view, blueImage: await blueImageOf(member.view) } : {}),
          conditions: Object.fromEntries(m.input.plan.gates.map((g) => [g.name, g.successCondition])),
        };
      }),
    );
  return {
    view,
    approvers: input?.plan.approval.approvers ?? [],
    auditApp: releaseAuditApp(view.name),
    members,
  };
}
