import type { Task } from 'durable-functions';
import { startChild } from '../../activities/contract';
import type { MemberSignal, ReleaseApp, ReleaseCommand, ReleaseResult } from '../../domain/release/types';
import type { RolloutPlan } from '../../domain/rollout/types';
import { formatDuration } from '../../domain/duration';
import { memberPlan } from '../../domain/release/plan';
import { Activities } from '../../names';
import { compensationRetry, stepRetry } from '../retry';
import { StopRollout } from '../stop';
import { notifyRelease } from './notify';
import type { MemberState, ReleaseRun } from './run';

/** The queue's poll backs off to this, so a long wait adds little history. */
const maxQueuePollMs = 5 * 60_000;
const by = 'greenlight';

function appsOf(rel: ReleaseRun): ReleaseApp[] {
  return rel.input.members.map((m) => ({
    app: m.app,
    ref: m.input.plan.app,
    rolloutId: m.rolloutId,
    image: m.input.image,
    ...(m.input.digest ? { digest: m.input.digest } : {}),
  }));
}

/** 1. Waits (Queued) until no other rollout or release holds a member app, then holds them all. */
export function* holdApps(rel: ReleaseRun): Generator<Task, void, unknown> {
  const { plan, recorder } = rel;
  const deadline = rel.now() + plan.queue.timeoutMs;
  let interval = plan.queue.pollIntervalMs;
  for (;;) {
    const held = yield* rel.call('holdReleaseApps', { releaseId: rel.releaseId, apps: appsOf(rel) });
    recorder.queuedBehind(held.busy);
    if (held.held) return;
    if (rel.now() >= deadline) {
      const busy = held.busy.map((b) => `${b.app} (held by ${b.holder})`).join(', ');
      throw new StopRollout(`member apps still busy after ${formatDuration(plan.queue.timeoutMs)}: ${busy}`);
    }
    yield* rel.wait(() => false, {
      deadline: Math.min(rel.now() + interval, deadline),
      memberEndStops: false,
    });
    // Backs off to 5 minutes, or stays at the policy's interval when that is longer.
    interval = Math.min(interval * 2, Math.max(maxQueuePollMs, plan.queue.pollIntervalMs));
  }
}

/** Frees the member apps and starts what was queued behind them (idempotent). */
export function* freeApps(rel: ReleaseRun): Generator<Task, void, unknown> {
  try {
    const freed = yield* rel.call(
      'freeReleaseApps',
      { releaseId: rel.releaseId, apps: appsOf(rel) },
      compensationRetry,
    );
    if (freed.started.length) rel.recorder.note(`started what was queued: ${freed.started.join(', ')}`);
  } catch (e) {
    rel.recorder.note(`member apps not freed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * 2. Starts every member rollout in member mode, in parallel, and returns the one `Task.all` of them that
 * the release collects at its very end. Yielding that same task again schedules nothing anew; a new
 * compound task over the children would schedule them again, and start a member that had ended afresh.
 * From here on the release waits on fresh event waiters only.
 */
export function* startMembers(rel: ReleaseRun): Generator<Task, Task, unknown> {
  rel.recorder.enter('Deploying');
  const children = rel.members.map((m) => {
    m.started = true;
    rel.recorder.memberPhase(m.member.app, 'Starting');
    // However the input was built: every member watches at least the release's watch, and stays undoable
    // at least as long as the release.
    const input = { ...m.member.input, plan: memberPlan(m.member.input.plan, rel.plan) };
    return startChild(rel.context, 'rollout', input, m.member.rolloutId);
  });
  const all = rel.context.df.Task.all(children.map((c) => c.task));
  yield rel.context.df.Task.any([all, rel.context.df.createTimer(new Date(rel.now()))]);
  rel.memberRuns = { all, each: children.map((c) => c.task) };
  return all;
}

/** Every member validated (Validating from the first report on); a member that ended stops the release. */
export function* awaitValidated(rel: ReleaseRun): Generator<Task, void, unknown> {
  const validated = () => rel.members.filter((m) => m.validated).length;
  while (validated() < rel.members.length) {
    const before = validated();
    yield* rel.wait(() => validated() > before);
    if (rel.recorder.status.phase === 'Deploying') rel.recorder.enter('Validating');
  }
  if (rel.recorder.status.phase === 'Deploying') rel.recorder.enter('Validating');
}

/** 3. One approval for the whole release, then the bake; a `promote` skips either. */
export function* approveAndBake(rel: ReleaseRun): Generator<Task, void, unknown> {
  const { plan, recorder } = rel;
  // A member's gate that could not decide asks for a person, whatever the release's policy says.
  const needed = rel.members.flatMap((m) => (m.approvalNeeded ?? []).map((n) => `${m.member.app}: ${n}`));
  if (needed.length) recorder.note(`approval needed: ${needed.join('; ')}`);
  if (plan.approval.required || needed.length > 0) {
    const expiresAt = rel.now() + plan.approval.timeoutMs;
    const links = yield* rel.call('createApprovalLinks', { rolloutId: rel.releaseId, expiresAt });
    recorder.enter('WaitingApproval');
    recorder.approvalPending(links.pageUrl, new Date(expiresAt).toISOString());
    yield* notifyRelease(rel, 'waitingApproval', {
      expiresAt: new Date(expiresAt).toISOString(),
      approvers: plan.approval.approvers,
      onTimeout: plan.approval.onTimeout,
      ...(needed.length ? { reason: needed.join('; ') } : {}),
      links: { approvalPage: links.pageUrl },
    });
    const end = yield* rel.wait(() => false, { deadline: expiresAt, approval: true, promote: true });
    if (end.kind === 'approval') {
      recorder.approvalDecided(end.decision);
      const { approver, comment, decision } = end.decision;
      yield* notifyRelease(rel, decision === 'approve' ? 'approved' : 'rejected', {
        by: approver,
        ...(comment ? { comment } : {}),
      });
      if (decision === 'reject')
        throw new StopRollout(`rejected by ${approver}${comment ? `: ${comment}` : ''}`);
    } else if (end.kind === 'promoted') {
      recorder.approvalEnded('skipped', end.by);
    } else {
      recorder.approvalEnded('timedOut');
      yield* notifyRelease(rel, 'timedOut', { onTimeout: plan.approval.onTimeout });
      // A wait a gate demanded is never ended by a timeout: nobody judged what the gate could not.
      if (plan.approval.onTimeout === 'rollback' || needed.length > 0) {
        throw new StopRollout(`approval timed out after ${formatDuration(plan.approval.timeoutMs)}`);
      }
      recorder.note('approval timed out; promoting, as the release says');
    }
  } else {
    recorder.approvalEnded('notRequired');
  }
  if (plan.bakeMs > 0) {
    recorder.enter('Baking');
    const end = yield* rel.wait(() => false, { deadline: rel.now() + plan.bakeMs, promote: true });
    if (end.kind === 'promoted') recorder.note(`bake skipped by ${end.by}`);
  }
}

/**
 * Raises each signal on its member, in parallel; false for a member that has ended or could not be
 * reached. Raising one twice is harmless (a member acts on the first well-formed abort, undo or command
 * it waits for), so after a failure each is tried again on its own.
 */
function* signal(rel: ReleaseRun, signals: MemberSignal[]): Generator<Task, boolean[], unknown> {
  if (signals.length === 0) return [];
  const { context } = rel;
  try {
    const out = (yield context.df.Task.all(
      signals.map((s) => context.df.callActivityWithRetry(Activities.signalMember, stepRetry, s)),
    )) as { raised: boolean }[];
    return out.map((o) => o.raised);
  } catch {
    const raised: boolean[] = [];
    for (const s of signals) {
      try {
        raised.push((yield* rel.call('signalMember', s, compensationRetry)).raised);
      } catch (e) {
        rel.recorder.note(
          `${s.event} not raised on ${s.rolloutId}: ${e instanceof Error ? e.message : String(e)}`,
        );
        raised.push(false);
      }
    }
    return raised;
  }
}

/** Forward commands: a member that cannot be told stops the release (it would wait for the command forever). */
function* commandAll(rel: ReleaseRun, signals: MemberSignal[]): Generator<Task, void, unknown> {
  const raised = yield* signal(rel, signals);
  const missed = signals.filter((_, i) => !raised[i]).map((s) => s.rolloutId);
  if (missed.length) throw new StopRollout(`could not command member rollout(s) ${missed.join(', ')}`);
}

const command = (m: MemberState, payload: ReleaseCommand): MemberSignal => ({
  rolloutId: m.member.rolloutId,
  event: 'releaseCommand',
  payload,
});

function stepsOf(plan: RolloutPlan): number {
  return plan.strategy.type === 'traffic' ? Math.max(plan.strategy.steps.length, 1) : 1;
}

function promoting(rel: ReleaseRun, m: MemberState): void {
  rel.promotionOrder.push(m.member.app);
  rel.recorder.promoted(m.member.app);
  rel.recorder.memberPhase(m.member.app, 'Promoting');
}

/** 4. Sequence: each member fully, one after another. Lockstep: step i of every member, then i + 1. */
export function* promote(rel: ReleaseRun): Generator<Task, void, unknown> {
  rel.recorder.enter('Promoting');
  if (rel.plan.order === 'sequence') {
    for (const m of rel.members) {
      promoting(rel, m);
      yield* commandAll(rel, [command(m, { action: 'promote' })]);
      yield* rel.wait(() => m.promotedReported);
    }
    return;
  }
  const steps = rel.members.map((m) => stepsOf(m.member.input.plan));
  const most = Math.max(...steps);
  for (let i = 0; i < most; i++) {
    const taking = rel.members.filter((_, k) => steps[k]! > i);
    rel.recorder.step(i, most);
    if (i === 0) taking.forEach((m) => promoting(rel, m));
    yield* commandAll(
      rel,
      taking.map((m) => command(m, { action: 'step', step: i })),
    );
    yield* rel.wait(() => taking.every((m) => m.stepDone >= i));
  }
  yield* rel.wait(() => rel.members.every((m) => m.promotedReported));
}

/** 5. Every member watches (at least the release's watch), then finishes into its own undo window. */
export function* watchAndFinish(rel: ReleaseRun): Generator<Task, void, unknown> {
  rel.recorder.enter('Watching');
  yield* rel.wait(() => rel.members.every((m) => m.watched));
  yield* commandAll(
    rel,
    rel.members.map((m) => command(m, { action: 'finish' })),
  );
  yield* rel.wait(() => rel.members.every((m) => m.succeeded));
}

/**
 * 6. All or nothing: every promoted member restores its snapshot, one by one in reverse promotion order
 * (each waited for), then the others together. Each member's outcome and what is left to do is collected.
 */
export function* restore(rel: ReleaseRun, reason: string): Generator<Task, ReleaseResult, unknown> {
  rel.recorder.enter('RollingBack', reason);
  const lost: string[] = [];
  const stop = { by, reason: `release ${rel.releaseId}: ${reason}`.slice(0, 500) };
  const going = (m: MemberState) => m.started && !m.finished;
  for (const app of [...rel.promotionOrder].reverse()) {
    const m = rel.member(app);
    if (!going(m)) continue;
    const [raised] = yield* signal(rel, [{ rolloutId: m.member.rolloutId, event: 'abort', payload: stop }]);
    if (!raised) {
      lost.push(app);
      continue;
    }
    yield* rel.wait(() => m.finished !== undefined, { abortStops: false, memberEndStops: false });
  }
  const others = rel.members.filter((m) => going(m) && !lost.includes(m.member.app));
  const raised = yield* signal(
    rel,
    others.map((m) => ({ rolloutId: m.member.rolloutId, event: 'abort' as const, payload: stop })),
  );
  others.forEach((m, i) => {
    if (!raised[i]) lost.push(m.member.app);
  });
  yield* rel.wait(() => others.every((m, i) => !raised[i] || m.finished !== undefined), {
    abortStops: false,
    memberEndStops: false,
  });
  const result = ending(rel, reason, lost, 'RolledBack');
  yield* told(rel, result);
  return result;
}

/** The channels hear how a restore ended: restored, or what a person must still do. */
function* told(rel: ReleaseRun, result: ReleaseResult, undo?: { by: string; reason?: string }) {
  const reason = result.reason ?? '';
  if (result.outcome === 'RollbackFailed') {
    yield* notifyRelease(rel, 'rollbackFailed', { reason, leftToDo: result.leftToDo ?? [] });
  } else if (undo) {
    yield* notifyRelease(rel, 'undone', { by: undo.by, ...(undo.reason ? { reason: undo.reason } : {}) });
  } else {
    yield* notifyRelease(rel, 'rolledBack', { reason });
  }
}

/** 7. Undo after success: every member undoes, one by one in reverse promotion order. */
export function* undoAll(
  rel: ReleaseRun,
  who: { by: string; reason?: string },
): Generator<Task, ReleaseResult, unknown> {
  const why = `undone by ${who.by}${who.reason ? `: ${who.reason}` : ''}`;
  const until = rel.recorder.status.undo?.until ?? '';
  rel.recorder.setUndo({
    state: 'undoing',
    until,
    by: who.by,
    ...(who.reason ? { reason: who.reason } : {}),
  });
  rel.recorder.enter('RollingBack', why);
  const lost: string[] = [];
  const payload = { by: who.by, reason: `release ${rel.releaseId}: ${why}`.slice(0, 500) };
  for (const app of [...rel.promotionOrder].reverse()) {
    const m = rel.member(app);
    if (m.finished) continue;
    const [raised] = yield* signal(rel, [{ rolloutId: m.member.rolloutId, event: 'undo', payload }]);
    if (!raised) {
      lost.push(app);
      continue;
    }
    yield* rel.wait(() => m.finished !== undefined, { abortStops: false, memberEndStops: false });
  }
  const result = ending(rel, why, lost, 'Undone');
  rel.recorder.setUndo({
    state: result.outcome === 'Undone' ? 'undone' : 'closed',
    until,
    by: who.by,
    ...(who.reason ? { reason: who.reason } : {}),
  });
  yield* told(rel, result, who);
  return result;
}

/** The release's end in the audit trail; a trail that cannot be written is noted, never stops it. */
export function* recordFinished(rel: ReleaseRun, result: ReleaseResult): Generator<Task, void, unknown> {
  try {
    yield* rel.call('appendReleaseAudit', {
      release: rel.plan.name,
      releaseId: rel.releaseId,
      at: rel.context.df.currentUtcDateTime.toISOString(),
      outcome: result.outcome,
      ...(result.reason ? { reason: result.reason } : {}),
    });
  } catch (e) {
    rel.recorder.note(
      `audit entry release.finished not written: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/** How the release ended once every member has: restored, or what is left to do member by member. */
function ending(
  rel: ReleaseRun,
  reason: string,
  lost: string[],
  restored: 'RolledBack' | 'Undone',
): ReleaseResult {
  const leftToDo: string[] = [];
  const members = rel.members.map((m) => {
    const app = m.member.app;
    const f = m.finished;
    const left = [...(f?.leftToDo ?? [])];
    if (lost.includes(app)) {
      left.push(
        `rollout ${m.member.rolloutId} could not be reached to restore it; check it and restore its snapshot by hand`,
      );
    } else if (f?.outcome === 'Succeeded' && m.started) {
      left.push(`its undo window had closed: roll its previous image out again`);
    } else if (f?.outcome === 'RollbackFailed' && left.length === 0) {
      left.push(`its rollback did not finish: see rollout ${m.member.rolloutId}`);
    }
    leftToDo.push(...left.map((l) => `${app}: ${l}`));
    if (left.length) rel.recorder.memberLeftToDo(app, left);
    return {
      app,
      rolloutId: m.member.rolloutId,
      ...(f ? { outcome: f.outcome } : {}),
      ...(f?.reason ? { reason: f.reason } : {}),
      ...(left.length ? { leftToDo: left } : {}),
    };
  });
  const outcome = leftToDo.length > 0 ? 'RollbackFailed' : restored;
  rel.recorder.finish(outcome, reason, leftToDo);
  return { outcome, reason, members, ...(leftToDo.length ? { leftToDo } : {}) };
}

/**
 * After Succeeded: the undo window, from the first member's success. An undo (or abort) undoes every
 * member; a member that ends otherwise than Succeeded meanwhile (its guard flipped back, or an operator
 * undid it alone) undoes the rest, all or nothing.
 */
export function* undoWindow(rel: ReleaseRun): Generator<Task, ReleaseResult, unknown> {
  const start = rel.firstSucceededAt ?? rel.now();
  const until = start + rel.plan.undoWindowMs;
  rel.recorder.setUndo({
    state: until > rel.now() ? 'open' : 'closed',
    until: new Date(until).toISOString(),
  });
  rel.recorder.finish('Succeeded', undefined);
  yield* notifyRelease(rel, 'succeeded', {
    durationMs: rel.now() - Date.parse(rel.input.requestedAt),
  });
  const brokeAway = () => rel.members.find((m) => m.finished && m.finished.outcome !== 'Succeeded');
  const end =
    until > rel.now()
      ? yield* rel.wait(() => brokeAway() !== undefined, {
          deadline: until,
          undo: true,
          memberEndStops: false,
        })
      : ({ kind: 'elapsed' } as const);
  if (end.kind === 'undo') return yield* undoAll(rel, end);
  const away = brokeAway();
  if (end.kind === 'done' && away?.finished) {
    const f = away.finished;
    return yield* undoAll(rel, {
      by,
      reason: `member ${f.app} ended ${f.outcome}${f.reason ? ` (${f.reason})` : ''}`,
    });
  }
  rel.recorder.setUndo({ state: 'closed', until: new Date(until).toISOString() });
  return {
    outcome: 'Succeeded',
    members: rel.members.map((m) => ({
      app: m.member.app,
      rolloutId: m.member.rolloutId,
      outcome: 'Succeeded',
    })),
  };
}
