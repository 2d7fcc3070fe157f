import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { z } from 'zod';
import { services } from '../composition';
import { actionEntry, auditApp, auditId, unknownApp } from '../domain/audit';
import { abortEventSchema, undoEventSchema } from '../domain/events';
import { Events, Orchestrators, watchInstanceId } from '../names';
import { raiseQuietly, tryGetStatus } from '../services/admission';
import { toRolloutView, type RolloutView } from '../services/rolloutView';
import { callerActor, recordAudit } from './http/audit';
import { json, problem, unknownRollout } from './http/problem';
import { actorOf, badId, readJson } from './http/request';

const undoBody = z
  .object({ reason: z.string().max(500, 'must be at most 500 characters').optional() })
  .strict();

/** Phases of a rollout still on its way to production: an undo of one is an abort. */
const running = new Set([
  'Initializing',
  'Deploying',
  'WaitingReady',
  'Validating',
  'WaitingApproval',
  'Baking',
  'Promoting',
  'Watching',
  'Finalising',
]);

/**
 * POST /api/rollouts/{id}/undo {reason?}: restores the pre-rollout snapshot of a succeeded rollout while
 * its undo window is open, skipping gates and approval. A rollout still running is aborted instead. Past
 * the window, or once a newer rollout of the app has started, 409 says why and gives the command that
 * rolls the previous image out again. The rollout itself re-checks the newer-rollout rule when it acts.
 */
export async function undoRollout(
  request: HttpRequest,
  client: DurableClient,
  statusUri: string,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const id = request.params.id ?? '';
  const invalid = badId(id);
  if (invalid) return invalid;
  const body = await readJson(request, undoBody, { optional: true });
  if (!body.ok) return body.response;
  const status = await tryGetStatus(client, id);
  if (!status || status.name !== Orchestrators.rollout) {
    return problem(unknownRollout(id));
  }
  const view = toRolloutView(status);
  const s = services();
  const by = actorOf(request, s.config.approval.trustClientPrincipal);
  const reason = body.value?.reason;
  const who = { by, ...(reason !== undefined ? { reason } : {}) };
  // What was done, with who asked: one entry per request, once the rollout has been told.
  const record = (action: 'abort' | 'undo') =>
    recordAudit(
      context,
      actionEntry(
        {
          id: auditId('action', context.invocationId),
          at: new Date().toISOString(),
          app: view.app.name ? auditApp(view.app) : unknownApp,
          rolloutId: id,
          actor: callerActor(request, s.config.approval.trustClientPrincipal),
          ...(reason !== undefined ? { reason } : {}),
        },
        action,
      ),
    );

  if (!view.done && running.has(view.phase)) {
    // Not promoted yet: undoing it is aborting it (the rollback restores the same snapshot).
    const data = abortEventSchema.parse(who);
    await client.raiseEvent(id, Events.abort, data);
    await raiseQuietly(client, watchInstanceId(id), Events.abort, data);
    await record('abort');
    return json(202, { id, action: 'abort', accepted: true, by, statusUri });
  }

  const refusal = await whyNot(view, id);
  if (refusal) return refusal;
  await client.raiseEvent(id, Events.undo, undoEventSchema.parse(who));
  await record('undo');
  return json(202, { id, action: 'undo', accepted: true, by, until: view.undo?.until, statusUri });
}

/** Why this succeeded rollout can no longer be undone, as a 409; undefined when it can. */
async function whyNot(view: RolloutView, id: string): Promise<HttpResponseInit | undefined> {
  const undo = view.undo;
  const conflict = (type: string, title: string, detail: string, extra: Record<string, unknown> = {}) =>
    problem({ status: 409, type, title, detail, ...extra });
  if (!undo) {
    return conflict(
      'not-undoable',
      'Nothing to undo',
      `rollout ${id} is ${view.phase}${view.reason ? ` (${view.reason})` : ''}: only a succeeded rollout is undone; production already runs as before it`,
    );
  }
  const again = `; to roll the previous version out again, run: ${undo.command}`;
  if (
    view.phase === 'Undoing' ||
    view.phase === 'Undone' ||
    undo.state === 'undoing' ||
    undo.state === 'undone'
  ) {
    return conflict(
      'already-undone',
      'Already undone',
      `rollout ${id} was undone by ${undo.by ?? 'an operator'}${undo.at ? ` at ${undo.at}` : ''} (${view.phase})`,
    );
  }
  if (view.phase !== 'Succeeded') {
    return conflict(
      'not-undoable',
      'Nothing to undo',
      `rollout ${id} is ${view.phase}${view.reason ? ` (${view.reason})` : ''}: only a succeeded rollout is undone`,
    );
  }
  const newer = (await services().store.latestRollout(view.app))?.rolloutId;
  if (newer && newer !== id) {
    return conflict(
      'newer-rollout',
      'A newer rollout of the app has started',
      `rollout ${newer} of ${view.app.name} started after ${id}, so undoing ${id} would overwrite it${again}`,
      { newer, command: undo.command },
    );
  }
  if (view.done || undo.state === 'closed' || Date.now() >= Date.parse(undo.until)) {
    return conflict(
      'undo-window-closed',
      'The undo window has closed',
      `the undo window of rollout ${id} closed at ${undo.until}${undo.closedBecause ? ` (${undo.closedBecause})` : ''} and blue is retired or being retired${again}`,
      { until: undo.until, command: undo.command },
    );
  }
  return undefined;
}
