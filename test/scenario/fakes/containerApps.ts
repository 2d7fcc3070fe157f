import { GreenlightError } from '../../../src/domain/errors';
import { retryAfterNote } from '../../../src/domain/retryAfter';
import type {
  AppRef,
  AppSnapshot,
  ContainerAppsPort,
  DeployGreenRequest,
  DeployGreenResult,
  RevisionInfo,
  RevisionMode,
  TrafficEntry,
} from '../../../src/domain/ports';

/** How a new revision behaves once created, chosen by the scenario from its image. */
export interface RevisionBehaviour {
  /** Reads of the revision before it reports ready (0: ready at once). */
  readyAfterReads?: number;
  /** Provisioning fails with this message. */
  fails?: string;
  /** Provisioned and running, but never healthy. */
  unhealthy?: boolean;
}

/** One write the orchestration attempted, kept whether Container Apps accepted it or not. */
export interface AttemptedWrite {
  op: 'setTraffic' | 'setLabel' | 'removeLabel' | 'deploy' | 'activate' | 'deactivate' | 'mode' | 'affinity';
  detail: string;
  traffic?: TrafficEntry[];
  accepted: boolean;
  refusal?: string;
}

interface FakeRevision extends RevisionInfo {
  reads: number;
  behaviour: RevisionBehaviour;
}

/**
 * Container Apps in memory, holding ACA's own rules for ingress traffic: weights are whole numbers that
 * sum to 100, every entry names a known, active revision, a label names one revision, and no weight goes
 * to a revision that is not provisioned, running and healthy. Every write is recorded as attempted, so an
 * invariant check over `writes` fails when the orchestration tries a bad one, even though it is refused.
 */
export class FakeContainerApps implements ContainerAppsPort {
  readonly writes: AttemptedWrite[] = [];
  private readonly revisions = new Map<string, FakeRevision>();
  private traffic: TrafficEntry[];
  private mode: RevisionMode = 'Single';
  /** Next calls fail with a transient error (as ARM's 503 would), counted down per call. */
  private outage: { calls: number; ops: Set<string> | 'all' } = { calls: 0, ops: 'all' };
  private clockMs = Date.parse('2026-01-01T00:00:00Z');
  /** App settings the guardrails read, as a scenario sets them; `minReplicas` is the template's. */
  readonly settings: {
    stickySessions?: 'sticky' | 'none';
    labelsMode?: boolean;
    /** Labels mode: the label ACA gives a new revision (with that label's weight: its "auto swap"). */
    targetLabel?: string;
    ingressExternal?: boolean;
    minReplicas?: number;
    maxInactiveRevisions?: number;
  } = { minReplicas: 1 };
  /** minReplicas each deployed revision was created with (absent: the template's). */
  readonly deployedMinReplicas = new Map<string, number | undefined>();

  constructor(
    readonly app: AppRef,
    opts: { blue: string; blueImage?: string },
    private readonly behaviourOf: (image: string) => RevisionBehaviour = () => ({}),
  ) {
    this.revisions.set(
      opts.blue,
      this.revision(opts.blue, opts.blueImage ?? 'registry.test/app:v1', {}, true),
    );
    this.traffic = [{ revisionName: opts.blue, weight: 100 }];
  }

  /** The scenario's clock, for outages that last a while (`failFor`). */
  now: () => number = () => Date.now();
  private window?: Outage;

  /**
   * ARM is down for `forMs` from the first call of the named operations (or of any): each call answers
   * 503, or 429 asking to retry after `retryAfterMs` when given. The outage records the calls it refused.
   */
  failFor(forMs: number, ops?: (keyof ContainerAppsPort)[], opts: { retryAfterMs?: number } = {}): Outage {
    this.window = { forMs, ops: ops ? new Set(ops) : 'all', refused: [], ...opts };
    return this.window;
  }

  /** ARM answers 503 to the next `calls` calls (of the named operations, or all). */
  failNext(calls: number, ops?: (keyof ContainerAppsPort)[]): void {
    this.outage = { calls, ops: ops ? new Set(ops) : 'all' };
  }

  /** The traffic table as it is now. */
  currentTraffic(): TrafficEntry[] {
    return this.traffic.map((t) => ({ ...t }));
  }

  revisionState(name: string): RevisionInfo | undefined {
    const r = this.revisions.get(name);
    return r ? this.info(r) : undefined;
  }

  /** Writes that broke a rule: the orchestration must never attempt one. */
  refusedWrites(): AttemptedWrite[] {
    return this.writes.filter((w) => !w.accepted);
  }

  async getSnapshot(app: AppRef): Promise<AppSnapshot> {
    this.maybeFail('getSnapshot');
    const blue = this.traffic.find((t) => t.weight > 0)?.revisionName ?? '';
    const ready = [...this.revisions.values()].filter((r) => isReady(r));
    return {
      app,
      resourceId: `/subscriptions/${app.subscriptionId}/resourceGroups/${app.resourceGroup}/providers/Microsoft.App/containerApps/${app.name}`,
      revisionMode: this.mode,
      latestRevisionName: [...this.revisions.keys()].at(-1),
      latestReadyRevisionName: ready.at(-1)?.name,
      traffic: this.currentTraffic(),
      revisions: [...this.revisions.values()].map((r) => this.info(r)),
      activeRevisionsMode: this.settings.labelsMode ? 'Labels' : this.mode,
      ingressFqdn: `${app.name}.test`,
      ...(this.settings.targetLabel ? { targetLabel: this.settings.targetLabel } : {}),
      ...(this.settings.stickySessions ? { stickySessions: this.settings.stickySessions } : {}),
      ...(this.settings.ingressExternal !== undefined
        ? { ingressExternal: this.settings.ingressExternal }
        : {}),
      ...(this.settings.maxInactiveRevisions !== undefined
        ? { maxInactiveRevisions: this.settings.maxInactiveRevisions }
        : {}),
      template: {
        containers: [{ name: 'web', image: this.revisions.get(blue)?.image, env: [], probes: [] }],
        scale: { minReplicas: this.settings.minReplicas, rules: [] },
      },
    };
  }

  async ensureMultipleRevisionMode(): Promise<{ changed: boolean }> {
    this.maybeFail('ensureMultipleRevisionMode');
    if (this.mode === 'Multiple') return { changed: false };
    this.mode = 'Multiple';
    this.writes.push({ op: 'mode', detail: 'Multiple', accepted: true });
    return { changed: true };
  }

  async deployGreen(app: AppRef, request: DeployGreenRequest): Promise<DeployGreenResult> {
    this.maybeFail('deployGreen');
    const name = `${app.name}--${request.revisionSuffix}`;
    const existing = this.revisions.get(name);
    if (existing) {
      existing.active = true;
      return { revisionName: name, created: false };
    }
    this.revisions.set(name, this.revision(name, request.image, this.behaviourOf(request.image), false));
    this.writes.push({
      op: 'deploy',
      detail: `${name} (${request.image})${request.targetLabel ? ` targetLabel=${request.targetLabel}` : ''}`,
      accepted: true,
    });
    if (this.settings.labelsMode) {
      // Labels mode: the new revision takes the target label, and the weight that label carries.
      if (request.targetLabel) this.settings.targetLabel = request.targetLabel;
      const label = this.settings.targetLabel;
      if (label) {
        const entry = this.traffic.find((t) => t.label === label);
        if (entry) entry.revisionName = name;
        else this.traffic.push({ revisionName: name, weight: 0, label });
      }
    }
    this.deployedMinReplicas.set(name, request.minReplicas);
    return { revisionName: name, created: true };
  }

  async setSessionAffinity(
    _app: AppRef,
    affinity: 'sticky' | 'none',
    opts: { singleMode?: boolean } = {},
  ): Promise<{ changed: boolean }> {
    this.maybeFail('setSessionAffinity');
    if (opts.singleMode) this.mode = 'Single';
    this.settings.stickySessions = affinity;
    this.writes.push({
      op: 'affinity',
      detail: `${affinity}${opts.singleMode ? ' (Single)' : ''}`,
      accepted: true,
    });
    return { changed: true };
  }

  async getRevision(_app: AppRef, revisionName: string): Promise<RevisionInfo> {
    this.maybeFail('getRevision');
    const r = this.revisions.get(revisionName);
    if (!r) throw new GreenlightError('NotFound', `revision ${revisionName} does not exist`);
    r.reads++;
    this.settle(r);
    return this.info(r);
  }

  async setTraffic(
    _app: AppRef,
    entries: TrafficEntry[],
    opts: { targetLabel?: string } = {},
  ): Promise<void> {
    this.maybeFail('setTraffic');
    const refusal = this.trafficRefusal(entries);
    this.writes.push({
      op: 'setTraffic',
      detail:
        entries.map((t) => `${t.revisionName}=${t.weight}${t.label ? `(${t.label})` : ''}`).join(', ') +
        (opts.targetLabel ? ` targetLabel=${opts.targetLabel}` : ''),
      traffic: entries.map((t) => ({ ...t })),
      accepted: !refusal,
      ...(refusal ? { refusal } : {}),
    });
    if (refusal) throw new GreenlightError('InvalidTraffic', refusal);
    this.traffic = entries.map((t) => ({ ...t }));
    if (opts.targetLabel) this.settings.targetLabel = opts.targetLabel;
  }

  async setLabel(_app: AppRef, label: string, revisionName: string): Promise<void> {
    this.maybeFail('setLabel');
    const without = this.traffic.map((t) => (t.label === label ? { ...t, label: undefined } : t));
    const entry = without.find((t) => t.revisionName === revisionName && !t.label);
    const next = entry
      ? without.map((t) => (t === entry ? { ...t, label } : t))
      : [...without, { revisionName, weight: 0, label }];
    this.writes.push({ op: 'setLabel', detail: `${label}=${revisionName}`, accepted: true });
    this.traffic = next.map(({ label: l, ...t }) => (l ? { ...t, label: l } : t));
  }

  async removeLabel(_app: AppRef, label: string): Promise<void> {
    this.maybeFail('removeLabel');
    this.writes.push({ op: 'removeLabel', detail: label, accepted: true });
    this.traffic = this.traffic
      .filter((t) => !(t.label === label && t.weight === 0))
      .map(({ label: l, ...t }) => (l && l !== label ? { ...t, label: l } : t));
  }

  async activateRevision(_app: AppRef, revisionName: string): Promise<void> {
    this.maybeFail('activateRevision');
    const r = this.revisions.get(revisionName);
    if (!r) throw new GreenlightError('NotFound', `revision ${revisionName} does not exist`);
    r.active = true;
    this.writes.push({ op: 'activate', detail: revisionName, accepted: true });
  }

  async deactivateRevision(_app: AppRef, revisionName: string): Promise<void> {
    this.maybeFail('deactivateRevision');
    const r = this.revisions.get(revisionName);
    if (!r) throw new GreenlightError('NotFound', `revision ${revisionName} does not exist`);
    const serving = this.traffic.find((t) => t.revisionName === revisionName && t.weight > 0);
    const refusal = serving
      ? `revision ${revisionName} still serves ${serving.weight}% of traffic`
      : undefined;
    this.writes.push({
      op: 'deactivate',
      detail: revisionName,
      accepted: !refusal,
      ...(refusal ? { refusal } : {}),
    });
    if (refusal) throw new GreenlightError('ArmError', refusal);
    r.active = false;
    r.runningState = 'Stopped';
    this.traffic = this.traffic.filter((t) => t.revisionName !== revisionName || t.label);
  }

  private trafficRefusal(entries: TrafficEntry[]): string | undefined {
    const sum = entries.reduce((s, t) => s + t.weight, 0);
    if (sum !== 100) return `traffic weights must sum to 100; got ${sum}`;
    const labels = new Set<string>();
    for (const t of entries) {
      if (!Number.isInteger(t.weight) || t.weight < 0 || t.weight > 100) {
        return `weight of ${t.revisionName} must be a whole number from 0 to 100; got ${t.weight}`;
      }
      const r = this.revisions.get(t.revisionName);
      if (!r) return `revision ${t.revisionName} does not exist`;
      if (t.weight > 0 && !isReady(r)) {
        return `revision ${t.revisionName} is not ready (${r.provisioningState}/${r.runningState}/${r.healthState}) and cannot take ${t.weight}% of traffic`;
      }
      if (t.weight > 0 && !r.active) return `revision ${t.revisionName} is inactive and cannot take traffic`;
      if (t.label) {
        if (labels.has(t.label)) return `label '${t.label}' names more than one revision`;
        labels.add(t.label);
      }
    }
    return undefined;
  }

  private maybeFail(op: keyof ContainerAppsPort): void {
    failIfDown(this.window, op, this.now());
    if (this.outage.calls <= 0) return;
    if (this.outage.ops !== 'all' && !this.outage.ops.has(op)) return;
    this.outage.calls--;
    throw new GreenlightError('ArmUnavailable', `ARM answered 503 Service Unavailable to ${op}`);
  }

  private revision(name: string, image: string, behaviour: RevisionBehaviour, ready: boolean): FakeRevision {
    this.clockMs += 1000;
    return {
      name,
      image,
      active: true,
      createdTime: new Date(this.clockMs).toISOString(),
      provisioningState: ready ? 'Provisioned' : 'Provisioning',
      runningState: ready ? 'Running' : 'Processing',
      healthState: ready ? 'Healthy' : 'None',
      fqdn: `${name}.test`,
      replicas: ready ? 1 : 0,
      trafficWeight: 0,
      reads: 0,
      behaviour,
    };
  }

  /** A new revision settles on its behaviour once read often enough. */
  private settle(r: FakeRevision): void {
    if (r.provisioningState !== 'Provisioning' || r.reads <= (r.behaviour.readyAfterReads ?? 0)) return;
    if (r.behaviour.fails) {
      r.provisioningState = 'Failed';
      r.runningState = 'Failed';
      r.provisioningError = r.behaviour.fails;
      return;
    }
    r.provisioningState = 'Provisioned';
    r.runningState = 'Running';
    r.healthState = r.behaviour.unhealthy ? 'Unhealthy' : 'Healthy';
    r.replicas = 1;
  }

  private info(r: FakeRevision): RevisionInfo {
    const { reads: _reads, behaviour: _behaviour, ...info } = r;
    const weight = this.traffic.filter((t) => t.revisionName === r.name).reduce((s, t) => s + t.weight, 0);
    return { ...info, trafficWeight: weight };
  }
}

/** An outage of some operations (or all) that lasts `forMs` from the first call it refuses. */
export interface Outage {
  forMs: number;
  ops: Set<string> | 'all';
  retryAfterMs?: number;
  startedAt?: number;
  /** Each refused call: the operation and the clock's reading. */
  refused: { op: string; at: number }[];
}

/** Throws as ARM does during `outage`: 429 with Retry-After when it asks for one, else 503. */
export function failIfDown(outage: Outage | undefined, op: string, now: number): void {
  if (!outage || (outage.ops !== 'all' && !outage.ops.has(op))) return;
  outage.startedAt ??= now;
  if (now >= outage.startedAt + outage.forMs) return;
  outage.refused.push({ op, at: now });
  if (outage.retryAfterMs !== undefined) {
    throw new GreenlightError(
      'ArmThrottled',
      `ARM answered 429 Too Many Requests to ${op} ${retryAfterNote(outage.retryAfterMs)}`,
    );
  }
  throw new GreenlightError('ArmUnavailable', `ARM answered 503 Service Unavailable to ${op}`);
}

function isReady(r: RevisionInfo): boolean {
  return (
    r.active &&
    r.provisioningState === 'Provisioned' &&
    r.runningState === 'Running' &&
    r.healthState === 'Healthy'
  );
}
