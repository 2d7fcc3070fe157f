import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../clock';
import {
  affinityInEffect,
  checkConfiguration,
  checkRevisionsMode,
  cooldownMs,
  inactiveToDrop,
  defaultEnvironmentDomain,
  environmentFqdn,
  inEnvironmentHeader,
  parseEnvironmentHost,
  maxInactiveOf,
  type RevisionsMode,
  scalesToZero,
  targetLabelOf,
  withTargetLabel,
} from './acaSettings';
import { ArmHttpError, badRequest } from './armError';
import type { FaultInjector } from './faults';
import { behaviourOf, imageProblem, imageTag } from './images';
import { labelProblem, revisionNameProblem } from './rules';
import {
  canonicalJson,
  clone,
  type ContainerAppBody,
  mergePatch,
  parseAppBody,
  type WireConfiguration,
  type WireIngress,
  type WireTemplate,
  type WireTrafficWeight,
} from './wire';
import type { TcpWorkloads, TcpWorkloadSpec } from '../workloads/tcp/host';
import { EventTimes, RequestLog } from '../monitor-emulator/requestLog';
import type { MonitoredApp } from '../monitor-emulator/source';
import {
  LocalHttpServer,
  newCounters,
  type RequestCounters,
  type RevisionPhase,
  serveRevision,
  type WorkloadRevision,
  type WorkloadSettings,
} from '../workloads/http';

export interface EmulatorAppRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export interface SeedApp extends EmulatorAppRef {
  image: string;
  /**
   * Default Multiple (what Greenlight needs); Single to exercise ensureMultipleRevisionMode; Labels with
   * `targetLabel` (default 'stage'): the first revision carries `labels[0]` (default 'prod') with 100%.
   */
  revisionMode?: 'Single' | 'Multiple' | 'Labels';
  /** Labels mode: the label ACA gives each new revision. */
  targetLabel?: string;
  /** Default external ingress on port 8080; `false` for an app without ingress. */
  ingress?: { external?: boolean; targetPort?: number; transport?: string } | false;
  location?: string;
  containerName?: string;
  env?: Record<string, string>;
  /** Default derived from the image tag (`v1` gives `<app>--v1`). */
  revisionSuffix?: string;
  /** `latest` (ACA's default on create): `[{latestRevision: true, weight: 100}]`; `pinned`: the revision by name. */
  traffic?: 'latest' | 'pinned';
  labels?: string[];
  /** Default the HTTP sample; `{kind: 'tcp'}` runs a TCP receiver + processor per running revision. */
  workload?: { kind: 'http' } | TcpWorkloadSpec;
}

/** Traffic with `latestRevision: true` resolved to a revision name. */
export interface ResolvedTraffic {
  revisionName: string;
  weight: number;
  label?: string;
}

interface RevisionState extends WorkloadRevision {
  name: string;
  createdAt: number;
  activatedAt: number;
  lastActiveAt: number;
  template: WireTemplate;
  active: boolean;
  /** Set by the failProvisioning fault (the `crash` tag fails without it). */
  injectedFailure?: string;
  /** Set by `setRevisionHealth`: a running revision that turns bad later (e.g. during a watch). */
  healthOverride?: 'Unhealthy';
  endpoint: LocalHttpServer;
  restarts: EventTimes;
  /** Scale to zero: until when (clock) a replica stays after the last request, and a cold start under way. */
  warmUntil?: number;
  coldStart?: Promise<void>;
}

interface OperationState {
  id: string;
  subscriptionId: string;
  location: string;
  appKey: string;
  startedAt: number;
  durationMs: number;
  pollsLeft: number;
  error?: { code: string; message: string };
}

interface AppState {
  key: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
  /** Settable properties other than configuration and template (managedEnvironmentId, ...), kept as sent. */
  otherProperties: Record<string, unknown>;
  configuration: WireConfiguration & { activeRevisionsMode: RevisionsMode };
  template: WireTemplate;
  revisions: RevisionState[];
  latestRevisionName?: string;
  lastOperation?: OperationState;
  router: LocalHttpServer;
  autoSuffixCounter: number;
  /** Set for TCP workers: their revisions run a TCP worker while running. */
  tcp?: TcpWorkloadSpec;
}

export interface StoreSettings {
  clock: Clock;
  provisioningDelayMs: number;
  lroDurationMs: number;
  workload: WorkloadSettings;
  faults: FaultInjector;
  /** Weighted routing on the app endpoint (seeded for repeatable runs). */
  random: () => number;
  /** Runs TCP workers (needs the emulator's `redis` option). */
  tcp?: TcpWorkloads;
  /** Real-time wait of a request that wakes a revision scaled to zero; default 1000 ms. */
  coldStartMs?: number;
  /**
   * When set, ARM answers carry ACA-shaped FQDNs under this domain (`<app>.<domain>`, `<app>--<suffix>.<domain>`,
   * `.internal.` for internal ingress), reachable only through the environment gateway; unset, they are
   * the local `127.0.0.1:<port>` of each endpoint.
   */
  environmentDomain?: string;
}

export interface RevisionView {
  name: string;
  image: string;
  active: boolean;
  provisioningState: string;
  runningState: string;
  healthState: string;
  provisioningError?: string;
  fqdn?: string;
  trafficWeight: number;
  replicas: number;
  counters: RequestCounters;
}

export interface AppView {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  revisionMode: RevisionsMode;
  /** Session affinity set and in effect (Single mode, HTTP ingress only). */
  affinityInEffect: boolean;
  provisioningState: string;
  latestRevisionName?: string;
  latestReadyRevisionName?: string;
  ingressFqdn?: string;
  /** As stored (may hold `latestRevision: true`). */
  traffic: WireTrafficWeight[];
  /** Where requests go now. */
  effectiveTraffic: ResolvedTraffic[];
  revisions: RevisionView[];
}

function keyOf(ref: EmulatorAppRef): string {
  return `${ref.subscriptionId}/${ref.resourceGroup}/${ref.name}`.toLowerCase();
}

function appId(app: { subscriptionId: string; resourceGroup: string; name: string }): string {
  return `/subscriptions/${app.subscriptionId}/resourceGroups/${app.resourceGroup}/providers/Microsoft.App/containerApps/${app.name}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function withoutSuffix(template: WireTemplate): string {
  return canonicalJson({ ...template, revisionSuffix: undefined });
}

function seedSuffix(image: string, appName: string): string {
  const slug = imageTag(image)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 20)
    .replace(/-+$/, '');
  const candidate = /^[a-z]/.test(slug) ? slug : `r${slug}`;
  return revisionNameProblem(appName, candidate) === undefined ? candidate : 'initial';
}

function appNotFound(ref: EmulatorAppRef): ArmHttpError {
  return new ArmHttpError(
    404,
    'ResourceNotFound',
    `The Resource 'Microsoft.App/containerApps/${ref.name}' under resource group '${ref.resourceGroup}' was not found.`,
  );
}

/**
 * One write of an app's ingress traffic, accepted or refused, as the client sent it (`latestRevision`
 * resolved to a revision name at the time of the write).
 */
export interface TrafficChange {
  at: number;
  traffic: ResolvedTraffic[];
  /** Revisions that were ready (provisioned, running, healthy) when the write arrived. */
  ready: string[];
  /** False when the emulator refused the write, as ACA would; the app's traffic then did not change. */
  accepted: boolean;
  /** Why the write was refused (the ARM error's code and message). */
  refusal?: string;
}

/** The emulated control plane: apps, revisions, traffic and operations, with ACA's rules. */
export class ContainerAppsStore {
  private readonly apps = new Map<string, AppState>();
  private readonly history = new Map<string, TrafficChange[]>();

  /** The app's traffic after every accepted write since it was seeded, oldest first. */
  trafficHistory(ref: EmulatorAppRef): TrafficChange[] {
    return structuredClone((this.history.get(keyOf(ref)) ?? []).filter((c) => c.accepted));
  }

  /**
   * Every traffic write the app received, accepted or refused, oldest first: what a client tried to do,
   * for invariant checks that must see a bad write even though ACA (and the emulator) refuse it.
   */
  trafficWrites(ref: EmulatorAppRef): TrafficChange[] {
    return structuredClone(this.history.get(keyOf(ref)) ?? []);
  }

  /** Makes a revision report Unhealthy/Degraded from now on (or healthy again). */
  setRevisionHealth(ref: EmulatorAppRef, revisionName: string, health: 'Healthy' | 'Unhealthy'): void {
    const rev = this.requireRevision(this.require(ref), revisionName);
    if (health === 'Unhealthy') rev.healthOverride = 'Unhealthy';
    else delete rev.healthOverride;
  }

  private readyRevisions(app: AppState | undefined): string[] {
    return (app?.revisions ?? [])
      .filter((r) => r.active && this.status(r).healthState === 'Healthy')
      .map((r) => r.name);
  }

  private recordTraffic(app: AppState): void {
    const list = this.history.get(app.key) ?? [];
    list.push({
      at: this.now(),
      traffic: this.effectiveTraffic(app),
      ready: this.readyRevisions(app),
      accepted: true,
    });
    this.history.set(app.key, list);
  }

  /** Records a refused write that carried traffic, with `latestRevision` read as the app's latest revision. */
  private recordRefusedTraffic(ref: EmulatorAppRef, rawBody: unknown, error: unknown): void {
    const requested = (
      rawBody as { properties?: { configuration?: { ingress?: { traffic?: unknown } } } } | null
    )?.properties?.configuration?.ingress?.traffic;
    if (!Array.isArray(requested)) return;
    const existing = this.find(ref);
    const latest = existing ? (this.latestReady(existing)?.name ?? existing.latestRevisionName) : undefined;
    const traffic: ResolvedTraffic[] = [];
    for (const entry of requested as WireTrafficWeight[]) {
      const name = entry?.latestRevision ? latest : entry?.revisionName?.toLowerCase();
      const weight = typeof entry?.weight === 'number' ? entry.weight : 0;
      traffic.push({
        revisionName: name ?? '(none)',
        weight,
        ...(entry?.label ? { label: entry.label } : {}),
      });
    }
    const refusal =
      error instanceof ArmHttpError
        ? `${error.code}: ${error.message}`
        : error instanceof Error
          ? error.message
          : String(error);
    const key = keyOf(ref);
    const list = this.history.get(key) ?? [];
    list.push({ at: this.now(), traffic, ready: this.readyRevisions(existing), accepted: false, refusal });
    this.history.set(key, list);
  }
  private readonly operations = new Map<string, OperationState>();

  constructor(private readonly settings: StoreSettings) {}

  private now(): number {
    return this.settings.clock.now();
  }

  // ---- reads -------------------------------------------------------------------------------------------

  find(ref: EmulatorAppRef): AppState | undefined {
    const app = this.apps.get(keyOf(ref));
    if (app) this.reconcile(app);
    return app;
  }

  require(ref: EmulatorAppRef): AppState {
    const app = this.find(ref);
    if (!app) throw appNotFound(ref);
    return app;
  }

  list(subscriptionId: string, resourceGroup: string): AppState[] {
    const prefix = `${subscriptionId}/${resourceGroup}/`.toLowerCase();
    return [...this.apps.values()].filter((a) => a.key.startsWith(prefix)).map((a) => this.reconcile(a));
  }

  all(): AppState[] {
    return [...this.apps.values()].map((a) => this.reconcile(a));
  }

  revision(app: AppState, name: string): RevisionState | undefined {
    return app.revisions.find((r) => r.name === name.toLowerCase());
  }

  requireRevision(app: AppState, name: string): RevisionState {
    const rev = this.revision(app, name);
    if (!rev) {
      throw new ArmHttpError(
        404,
        'ResourceNotFound',
        `The Resource 'Microsoft.App/containerApps/${app.name}/revisions/${name}' under resource group '${app.resourceGroup}' was not found.`,
      );
    }
    return rev;
  }

  phase(rev: RevisionState): RevisionPhase {
    if (!rev.active) return 'stopped';
    if (this.now() < rev.activatedAt + this.settings.provisioningDelayMs) return 'provisioning';
    if (rev.behaviour.crash || rev.injectedFailure) return 'failed';
    return 'ready';
  }

  private failed(rev: RevisionState): boolean {
    return rev.behaviour.crash || rev.injectedFailure !== undefined;
  }

  latestReady(app: AppState): RevisionState | undefined {
    for (let i = app.revisions.length - 1; i >= 0; i--) {
      const rev = app.revisions[i];
      if (rev && this.phase(rev) === 'ready') return rev;
    }
    return undefined;
  }

  /** Traffic with `latestRevision: true` resolved to the latest ready revision (where ACA sends it). */
  effectiveTraffic(app: AppState): ResolvedTraffic[] {
    const traffic = app.configuration.ingress?.traffic ?? [];
    const latest = this.latestReady(app)?.name ?? app.latestRevisionName;
    const out: ResolvedTraffic[] = [];
    for (const t of traffic) {
      const name = t.latestRevision ? latest : t.revisionName;
      if (name === undefined) continue;
      out.push({ revisionName: name, weight: t.weight ?? 0, ...(t.label ? { label: t.label } : {}) });
    }
    return out;
  }

  private weightOf(app: AppState, revisionName: string): number {
    return this.effectiveTraffic(app)
      .filter((t) => t.revisionName === revisionName)
      .reduce((s, t) => s + t.weight, 0);
  }

  operationDone(op: OperationState): boolean {
    return op.pollsLeft <= 0 && performance.now() - op.startedAt >= op.durationMs;
  }

  provisioningState(app: AppState): 'InProgress' | 'Succeeded' | 'Failed' {
    const op = app.lastOperation;
    if (!op) return 'Succeeded';
    if (!this.operationDone(op)) return 'InProgress';
    return op.error ? 'Failed' : 'Succeeded';
  }

  /**
   * Single revision mode: once the latest revision is ready, ACA deactivates the others; while it provisions,
   * or when it failed, the previous one keeps serving.
   */
  private reconcile(app: AppState): AppState {
    this.dropInactive(app);
    if (app.configuration.activeRevisionsMode === 'Labels') return this.shutUnlabelled(app);
    if (app.configuration.activeRevisionsMode !== 'Single') return app;
    const latest = app.latestRevisionName ? this.revision(app, app.latestRevisionName) : undefined;
    if (!latest || this.phase(latest) !== 'ready') return app;
    for (const rev of app.revisions) {
      if (rev !== latest && rev.active) this.stopRevision(rev);
    }
    return app;
  }

  // ---- wire JSON ---------------------------------------------------------------------------------------

  appJson(app: AppState): Record<string, unknown> {
    const latest = app.latestRevisionName ? this.revision(app, app.latestRevisionName) : undefined;
    const ingress = app.configuration.ingress;
    return {
      id: appId(app),
      name: app.name,
      type: 'Microsoft.App/containerApps',
      location: app.location,
      ...(app.tags ? { tags: app.tags } : {}),
      properties: {
        ...app.otherProperties,
        provisioningState: this.provisioningState(app),
        runningStatus: 'Running',
        latestRevisionName: app.latestRevisionName,
        latestReadyRevisionName: this.latestReady(app)?.name,
        latestRevisionFqdn: latest ? this.armFqdn(app, latest) : undefined,
        outboundIpAddresses: ['127.0.0.1'],
        configuration: {
          ...app.configuration,
          ...(ingress ? { ingress: { ...ingress, fqdn: this.armFqdn(app) } } : {}),
        },
        template: app.template,
      },
    };
  }

  private fqdn(rev: RevisionState): string | undefined {
    return rev.endpoint.port ? `127.0.0.1:${rev.endpoint.port}` : undefined;
  }

  /** The FQDN ARM reports for the app (or one of its revisions): ACA-shaped under `environmentDomain`. */
  private armFqdn(app: AppState, rev?: RevisionState): string | undefined {
    const domain = this.settings.environmentDomain;
    if (!domain) {
      if (rev) return this.fqdn(rev);
      return app.router.port ? `127.0.0.1:${app.router.port}` : undefined;
    }
    return environmentFqdn(rev?.name ?? app.name, app.configuration.ingress?.external === false, domain);
  }

  private status(rev: RevisionState): Omit<RevisionView, 'name' | 'image' | 'counters' | 'trafficWeight'> {
    const phase = this.phase(rev);
    const base = { active: rev.active, fqdn: this.fqdn(rev) };
    const error = rev.injectedFailure ?? (rev.behaviour.crash ? 'container exited with code 1' : undefined);
    switch (phase) {
      case 'stopped':
        return {
          ...base,
          provisioningState: this.failed(rev) ? 'Failed' : 'Deprovisioned',
          runningState: 'Stopped',
          healthState: 'None',
          replicas: 0,
          ...(error ? { provisioningError: error } : {}),
        };
      case 'provisioning':
        return {
          ...base,
          provisioningState: 'Provisioning',
          runningState: 'Processing',
          healthState: 'None',
          replicas: 0,
        };
      case 'failed':
        return {
          ...base,
          provisioningState: 'Failed',
          runningState: 'Failed',
          healthState: 'Unhealthy',
          replicas: 0,
          provisioningError: error,
        };
      case 'ready': {
        const replicas = scalesToZero(rev.template)
          ? this.isWarm(rev)
            ? 1
            : 0
          : Math.max(1, rev.template.scale?.minReplicas ?? 1);
        return rev.behaviour.unhealthy || rev.healthOverride === 'Unhealthy'
          ? {
              ...base,
              provisioningState: 'Provisioned',
              runningState: 'Degraded',
              healthState: 'Unhealthy',
              replicas,
            }
          : {
              ...base,
              provisioningState: 'Provisioned',
              runningState: 'Running',
              healthState: 'Healthy',
              replicas,
            };
      }
    }
  }

  revisionJson(app: AppState, rev: RevisionState): Record<string, unknown> {
    const s = this.status(rev);
    return {
      id: `${appId(app)}/revisions/${rev.name}`,
      name: rev.name,
      type: 'Microsoft.App/containerApps/revisions',
      properties: {
        createdTime: iso(rev.createdAt),
        lastActiveTime: iso(rev.active ? this.now() : rev.lastActiveAt),
        fqdn: s.fqdn ? this.armFqdn(app, rev) : undefined,
        template: rev.template,
        active: s.active,
        replicas: s.replicas,
        trafficWeight: this.weightOf(app, rev.name),
        ...(s.provisioningError ? { provisioningError: s.provisioningError } : {}),
        healthState: s.healthState,
        provisioningState: s.provisioningState,
        runningState: s.runningState,
      },
    };
  }

  view(app: AppState): AppView {
    this.reconcile(app);
    return {
      id: appId(app),
      subscriptionId: app.subscriptionId,
      resourceGroup: app.resourceGroup,
      name: app.name,
      revisionMode: app.configuration.activeRevisionsMode,
      affinityInEffect: affinityInEffect(app.configuration, app.configuration.activeRevisionsMode),
      provisioningState: this.provisioningState(app),
      latestRevisionName: app.latestRevisionName,
      latestReadyRevisionName: this.latestReady(app)?.name,
      ingressFqdn: app.router.port && app.configuration.ingress ? `127.0.0.1:${app.router.port}` : undefined,
      traffic: clone(app.configuration.ingress?.traffic ?? []),
      effectiveTraffic: this.effectiveTraffic(app),
      revisions: app.revisions.map((rev) => ({
        name: rev.name,
        image: rev.image,
        ...this.status(rev),
        trafficWeight: this.weightOf(app, rev.name),
        counters: clone(rev.counters),
      })),
    };
  }

  // ---- operations --------------------------------------------------------------------------------------

  private startOperation(app: AppState, error?: OperationState['error']): OperationState {
    const op: OperationState = {
      id: randomUUID(),
      subscriptionId: app.subscriptionId,
      location: app.location.toLowerCase().replace(/\s+/g, ''),
      appKey: app.key,
      startedAt: performance.now(),
      durationMs: this.settings.lroDurationMs,
      pollsLeft: this.settings.faults.takeLroDelay(),
      ...(error ? { error } : {}),
    };
    this.operations.set(op.id, op);
    app.lastOperation = op;
    return op;
  }

  operationPaths(op: OperationState): { status: string; result: string } {
    const base = `/subscriptions/${op.subscriptionId}/providers/Microsoft.App/locations/${op.location}`;
    return {
      status: `${base}/containerappOperationStatuses/${op.id}`,
      result: `${base}/containerappOperationResults/${op.id}`,
    };
  }

  operation(id: string): OperationState | undefined {
    return this.operations.get(id);
  }

  /** One status poll: a slow-LRO fault answers InProgress for its polls first. */
  pollOperation(op: OperationState): Record<string, unknown> {
    let status: 'InProgress' | 'Succeeded' | 'Failed';
    if (op.pollsLeft > 0) {
      op.pollsLeft -= 1;
      status = 'InProgress';
    } else if (!this.operationDone(op)) status = 'InProgress';
    else status = op.error ? 'Failed' : 'Succeeded';
    return {
      id: this.operationPaths(op).status,
      name: op.id,
      status,
      startTime: new Date(Date.now() - (performance.now() - op.startedAt)).toISOString(),
      ...(status !== 'InProgress' ? { endTime: new Date().toISOString() } : {}),
      ...(status === 'Failed' && op.error ? { error: op.error } : {}),
    };
  }

  appOfOperation(op: OperationState): AppState | undefined {
    const app = this.apps.get(op.appKey);
    return app ? this.reconcile(app) : undefined;
  }

  // ---- writes ------------------------------------------------------------------------------------------

  /** PUT: the body is the whole desired state. */
  async put(
    ref: EmulatorAppRef,
    rawBody: unknown,
  ): Promise<{ app: AppState; created: boolean; op: OperationState }> {
    try {
      const body = parseAppBody(rawBody);
      const existing = this.find(ref);
      const requestedSuffix = body.properties?.template?.revisionSuffix;
      return await this.apply(ref, existing, body, requestedSuffix);
    } catch (e) {
      this.recordRefusedTraffic(ref, rawBody, e);
      throw e;
    }
  }

  /** PATCH: JSON merge patch onto the app's settable state. */
  async patch(ref: EmulatorAppRef, rawBody: unknown): Promise<{ app: AppState; op: OperationState }> {
    try {
      return await this.patchApp(ref, rawBody);
    } catch (e) {
      this.recordRefusedTraffic(ref, rawBody, e);
      throw e;
    }
  }

  private async patchApp(
    ref: EmulatorAppRef,
    rawBody: unknown,
  ): Promise<{ app: AppState; op: OperationState }> {
    const existing = this.require(ref);
    const patchBody = parseAppBody(rawBody);
    const current = {
      location: existing.location,
      ...(existing.tags ? { tags: existing.tags } : {}),
      properties: {
        ...existing.otherProperties,
        configuration: existing.configuration,
        template: existing.template,
      },
    };
    const merged = parseAppBody(mergePatch(clone(current), rawBody));
    // A suffix only names a new revision when this request sends one; the stored one names the current revision.
    const requestedSuffix = patchBody.properties?.template?.revisionSuffix;
    const { app, op } = await this.apply(ref, existing, merged, requestedSuffix);
    return { app, op };
  }

  private async apply(
    ref: EmulatorAppRef,
    existing: AppState | undefined,
    body: ContainerAppBody,
    requestedSuffix: string | undefined,
  ): Promise<{ app: AppState; created: boolean; op: OperationState }> {
    if (existing?.lastOperation && !this.operationDone(existing.lastOperation)) {
      throw new ArmHttpError(
        409,
        'ContainerAppOperationInProgress',
        `Cannot modify container app '${existing.name}' because another operation is in progress; retry when it completes.`,
      );
    }
    const props = body.properties ?? {};
    const location = body.location ?? existing?.location;
    if (!location)
      throw badRequest('LocationRequired', "The 'location' property is required for this resource.");

    const template = this.checkTemplate(props.template);
    const mode = this.checkMode(props.configuration?.activeRevisionsMode);
    checkConfiguration(props.configuration, mode);
    const newSuffix = this.chooseSuffix(ref, existing, template, requestedSuffix);
    const newName = newSuffix ? `${ref.name}--${newSuffix}`.toLowerCase() : undefined;

    const ingressIn: WireIngress | undefined = props.configuration?.ingress;
    let traffic: WireTrafficWeight[] | undefined;
    if (ingressIn) {
      traffic =
        mode === 'Single' || !ingressIn.traffic ? [{ latestRevision: true, weight: 100 }] : ingressIn.traffic;
      const target = targetLabelOf(props.configuration);
      if (mode === 'Labels' && target && newName) traffic = withTargetLabel(traffic, target, newName);
      if (mode !== 'Single') this.checkTraffic(existing, traffic, newName);
    }

    const app: AppState = existing ?? {
      key: keyOf(ref),
      subscriptionId: ref.subscriptionId,
      resourceGroup: ref.resourceGroup,
      name: ref.name,
      location,
      otherProperties: {},
      configuration: { activeRevisionsMode: mode },
      template: {},
      revisions: [],
      router: new LocalHttpServer((req, res) => this.route(app, req, res)),
      autoSuffixCounter: 0,
    };
    if (!existing) this.apps.set(app.key, app);
    const { configuration: _c, template: _t, ...others } = props;
    app.location = location;
    app.tags = body.tags;
    app.otherProperties = clone(others);
    app.configuration = {
      ...clone(props.configuration ?? {}),
      activeRevisionsMode: mode,
      ingress: ingressIn ? { ...clone(ingressIn), traffic } : undefined,
    };
    if (!ingressIn) delete app.configuration.ingress;
    app.template = { ...clone(template), revisionSuffix: newSuffix ?? existing?.template.revisionSuffix };

    let failure: string | undefined;
    if (newSuffix && newName) {
      failure = this.settings.faults.takeProvisioningFailure();
      await this.addRevision(app, newName, app.template, { injectedFailure: failure });
    }
    if (app.configuration.ingress) await app.router.start();
    else await app.router.stop();
    if (app.configuration.ingress) this.recordTraffic(app);

    const op = this.startOperation(
      app,
      failure
        ? {
            code: 'ContainerAppOperationError',
            message: `Failed to provision revision for container app '${app.name}'. Error details: ${failure}`,
          }
        : undefined,
    );
    return { app, created: !existing, op };
  }

  private checkTemplate(template: WireTemplate | undefined): WireTemplate {
    const containers = template?.containers ?? [];
    if (!template || containers.length === 0) {
      throw badRequest(
        'ContainerAppInvalidTemplate',
        'properties.template.containers must hold at least one container.',
      );
    }
    const names = new Set<string>();
    containers.forEach((c, i) => {
      if (!c.name)
        throw badRequest(
          'ContainerAppInvalidTemplate',
          `properties.template.containers[${i}].name is required.`,
        );
      if (names.has(c.name)) {
        throw badRequest(
          'ContainerAppInvalidTemplate',
          `container name '${c.name}' appears twice in the template.`,
        );
      }
      names.add(c.name);
      const problem = imageProblem(c.image);
      if (problem) {
        throw badRequest(
          'ContainerAppInvalidImage',
          `properties.template.containers[${i}].image: ${problem}.`,
        );
      }
    });
    return template;
  }

  private checkMode(mode: string | undefined): RevisionsMode {
    return checkRevisionsMode(mode);
  }

  /** The suffix of the revision this change creates, or undefined when it is not a revision-scope change. */
  private chooseSuffix(
    ref: EmulatorAppRef,
    existing: AppState | undefined,
    template: WireTemplate,
    requested: string | undefined,
  ): string | undefined {
    let suffix: string | undefined;
    if (!existing || withoutSuffix(template) !== withoutSuffix(existing.template)) {
      suffix = requested ?? this.autoSuffix(ref, existing);
    } else if (requested !== undefined && requested !== existing.template.revisionSuffix) {
      suffix = requested;
    }
    if (suffix === undefined) return undefined;
    const problem = revisionNameProblem(ref.name, suffix);
    if (problem) throw badRequest('ContainerAppInvalidRevisionName', `${problem}.`);
    const name = `${ref.name}--${suffix}`.toLowerCase();
    if (existing && this.revision(existing, name)) {
      throw new ArmHttpError(
        409,
        'ContainerAppRevisionAlreadyExists',
        `Revision '${name}' already exists and a revision's template cannot change; use a new revisionSuffix for this template.`,
      );
    }
    return suffix;
  }

  private autoSuffix(ref: EmulatorAppRef, existing: AppState | undefined): string {
    let counter = existing?.autoSuffixCounter ?? 0;
    for (;;) {
      counter += 1;
      const suffix = `r${createHash('sha256')
        .update(`${keyOf(ref)}:${counter}`)
        .digest('hex')
        .slice(0, 6)}`;
      if (!existing || !this.revision(existing, `${ref.name}--${suffix}`)) {
        if (existing) existing.autoSuffixCounter = counter;
        return suffix;
      }
    }
  }

  private checkTraffic(existing: AppState | undefined, traffic: WireTrafficWeight[], newName?: string): void {
    const problems: string[] = [];
    const labels = new Set<string>();
    let sum = 0;
    traffic.forEach((t, i) => {
      const at = `traffic[${i}]`;
      const weight = t.weight ?? 0;
      if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
        problems.push(`${at}.weight must be a whole number from 0 to 100; got ${weight}`);
      }
      sum += Number.isFinite(weight) ? weight : 0;
      if (t.latestRevision && t.revisionName) {
        problems.push(`${at} sets both revisionName and latestRevision; set one`);
      } else if (!t.latestRevision && !t.revisionName) {
        problems.push(`${at} needs revisionName or latestRevision: true`);
      } else if (t.revisionName) {
        const name = t.revisionName.toLowerCase();
        const rev = existing ? this.revision(existing, name) : undefined;
        if (name !== newName && !rev) problems.push(`${at}: revision '${t.revisionName}' does not exist`);
        else if (rev && !rev.active && weight > 0) {
          problems.push(
            `${at}: revision '${t.revisionName}' is inactive and cannot receive traffic; activate it first`,
          );
        }
      }
      if (t.label !== undefined) {
        const problem = labelProblem(t.label);
        if (problem) problems.push(`${at}.${problem}`);
        if (labels.has(t.label)) problems.push(`label '${t.label}' is used by more than one traffic entry`);
        labels.add(t.label);
      }
    });
    if (traffic.length > 0 && sum !== 100) problems.push(`traffic weights must sum to 100; got ${sum}`);
    if (problems.length > 0) throw badRequest('ContainerAppInvalidTraffic', `${problems.join('; ')}.`);
  }

  private async addRevision(
    app: AppState,
    name: string,
    template: WireTemplate,
    opts: { injectedFailure?: string; ready?: boolean } = {},
  ): Promise<RevisionState> {
    const now = this.now();
    const image = template.containers?.[0]?.image ?? '';
    const startedAt = opts.ready ? now - this.settings.provisioningDelayMs : now;
    const rev: RevisionState = {
      name,
      appName: app.name,
      revisionName: name,
      image,
      version: imageTag(image),
      behaviour: behaviourOf(image),
      createdAt: startedAt,
      activatedAt: startedAt,
      lastActiveAt: now,
      template: clone(template),
      active: true,
      ...(opts.injectedFailure ? { injectedFailure: opts.injectedFailure } : {}),
      counters: newCounters(),
      requests: new RequestLog(),
      restarts: new EventTimes(),
      errorTicks: 0,
      endpoint: new LocalHttpServer((req, res) => this.serve(app, rev, req, res)),
      phase: () => this.phase(rev),
    };
    app.revisions.push(rev);
    app.latestRevisionName = name;
    await rev.endpoint.start();
    if (app.tcp) this.settings.tcp?.track(app.key, rev);
    return rev;
  }

  private stopRevision(rev: RevisionState): void {
    rev.active = false;
    rev.lastActiveAt = this.now();
    void rev.endpoint.stop();
  }

  async activate(ref: EmulatorAppRef, revisionName: string): Promise<void> {
    const app = this.require(ref);
    const rev = this.requireRevision(app, revisionName);
    if (rev.active) return;
    if (app.configuration.activeRevisionsMode === 'Single' && rev.name !== app.latestRevisionName) {
      throw badRequest(
        'ContainerAppRevisionActivationNotAllowed',
        `App '${app.name}' is in Single revision mode: only its latest revision can be active. Switch to Multiple first.`,
      );
    }
    rev.active = true;
    rev.activatedAt = this.now();
    await rev.endpoint.start();
  }

  async deactivate(ref: EmulatorAppRef, revisionName: string): Promise<void> {
    const app = this.require(ref);
    const rev = this.requireRevision(app, revisionName);
    if (!rev.active) return;
    const weight = this.weightOf(app, rev.name);
    if (weight > 0) {
      throw badRequest(
        'ContainerAppRevisionInUse',
        `Revision '${rev.name}' receives ${weight}% of traffic; move its traffic to other revisions before deactivating it.`,
      );
    }
    this.stopRevision(rev);
  }

  async restart(ref: EmulatorAppRef, revisionName: string): Promise<void> {
    const app = this.require(ref);
    const rev = this.requireRevision(app, revisionName);
    if (!rev.active) {
      throw badRequest(
        'ContainerAppRevisionNotActive',
        `Revision '${rev.name}' is not active; activate it to restart it.`,
      );
    }
    rev.activatedAt = this.now();
    rev.restarts.record(Date.now());
  }

  async delete(ref: EmulatorAppRef): Promise<boolean> {
    const app = this.find(ref);
    if (!app) return false;
    this.apps.delete(app.key);
    // A new app under the same name starts with its own traffic history.
    this.history.delete(app.key);
    await Promise.all([
      app.router.stop(),
      ...app.revisions.map((r) => r.endpoint.stop()),
      app.tcp ? this.settings.tcp?.detachApp(app.key) : undefined,
    ]);
    return true;
  }

  /** Every app with its revisions' request logs and restarts, for the monitoring emulators. */
  monitored(): MonitoredApp[] {
    return this.all().map((app) => ({
      id: appId(app),
      subscriptionId: app.subscriptionId,
      resourceGroup: app.resourceGroup,
      name: app.name,
      location: app.location,
      revisions: app.revisions.map((r) => ({ name: r.name, requests: r.requests, restarts: r.restarts })),
    }));
  }

  /** Creates an app whose first revision is already running, as if deployed long ago. */
  async seed(seed: SeedApp): Promise<AppState> {
    if (this.find(seed)) {
      throw new ArmHttpError(
        409,
        'ContainerAppAlreadyExists',
        `App '${seed.name}' already exists in the emulator.`,
      );
    }
    const mode = seed.revisionMode ?? 'Multiple';
    const suffix = seed.revisionSuffix ?? seedSuffix(seed.image, seed.name);
    const problem = revisionNameProblem(seed.name, suffix);
    if (problem) throw badRequest('ContainerAppInvalidRevisionName', problem);
    const imgProblem = imageProblem(seed.image);
    if (imgProblem) throw badRequest('ContainerAppInvalidImage', imgProblem);
    const revisionName = `${seed.name}--${suffix}`.toLowerCase();
    const template: WireTemplate = {
      revisionSuffix: suffix,
      containers: [
        {
          name: seed.containerName ?? seed.name,
          image: seed.image,
          env: Object.entries(seed.env ?? {}).map(([name, value]) => ({ name, value })),
        },
      ],
      scale: { minReplicas: 1, maxReplicas: 10 },
    };
    const traffic: WireTrafficWeight[] = [
      mode === 'Labels'
        ? { revisionName, weight: 100, label: seed.labels?.[0] ?? 'prod' }
        : seed.traffic === 'pinned' && mode === 'Multiple'
          ? { revisionName, weight: 100 }
          : { latestRevision: true, weight: 100 },
    ];
    // Labels are extra 0% entries (Single mode has no traffic split).
    if (mode === 'Multiple')
      for (const label of seed.labels ?? []) traffic.push({ revisionName, weight: 0, label });
    if (mode === 'Labels')
      for (const label of seed.labels?.slice(1) ?? []) traffic.push({ revisionName, weight: 0, label });
    const ingress =
      seed.ingress === false
        ? undefined
        : {
            external: seed.ingress?.external ?? true,
            targetPort: seed.ingress?.targetPort ?? 8080,
            transport: seed.ingress?.transport ?? 'auto',
            traffic,
          };
    const app: AppState = {
      key: keyOf(seed),
      subscriptionId: seed.subscriptionId,
      resourceGroup: seed.resourceGroup,
      name: seed.name,
      location: seed.location ?? 'westeurope',
      otherProperties: {
        managedEnvironmentId: `/subscriptions/${seed.subscriptionId}/resourceGroups/${seed.resourceGroup}/providers/Microsoft.App/managedEnvironments/local`,
        environmentId: `/subscriptions/${seed.subscriptionId}/resourceGroups/${seed.resourceGroup}/providers/Microsoft.App/managedEnvironments/local`,
      },
      configuration: {
        activeRevisionsMode: mode,
        ...(mode === 'Labels' ? { targetLabel: seed.targetLabel ?? 'stage' } : {}),
        ...(ingress ? { ingress } : {}),
      },
      template,
      revisions: [],
      router: new LocalHttpServer((req, res) => this.route(app, req, res)),
      autoSuffixCounter: 0,
    };
    if (seed.workload?.kind === 'tcp') {
      if (!this.settings.tcp) {
        throw badRequest(
          'EmulatorTcpWorkloadUnavailable',
          `app '${seed.name}' is a TCP worker: start the emulator with redis: {prodUrl, tempUrl} for its revisions to write to`,
        );
      }
      await this.settings.tcp.attachApp(app.key, seed.workload, revisionName);
      app.tcp = seed.workload;
    }
    this.apps.set(app.key, app);
    await this.addRevision(app, revisionName, template, { ready: true });
    if (ingress) await app.router.start();
    return app;
  }

  /** The app's ingress endpoint: a request goes to a revision picked by the current weights. */
  private route(app: AppState, req: IncomingMessage, res: ServerResponse): void {
    const choices = this.effectiveTraffic(app).filter((t) => t.weight > 0);
    const total = choices.reduce((s, t) => s + t.weight, 0);
    let pick = this.settings.random() * total;
    let target: RevisionState | undefined;
    for (const c of choices) {
      pick -= c.weight;
      if (pick < 0) {
        target = this.revision(app, c.revisionName);
        break;
      }
    }
    if (!target) {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `no revision of ${app.name} receives traffic` }));
      return;
    }
    this.serve(app, target, req, res);
  }

  private isWarm(rev: RevisionState): boolean {
    return rev.warmUntil !== undefined && this.now() < rev.warmUntil;
  }

  /**
   * Serves a request to a revision as ACA's ingress would: an internal app answers callers inside its
   * environment only, and a revision scaled to zero first starts a replica (the cold start).
   */
  private serve(app: AppState, rev: RevisionState, req: IncomingMessage, res: ServerResponse): void {
    if (app.configuration.ingress?.external === false && req.headers[inEnvironmentHeader] === undefined) {
      req.resume();
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: `app '${app.name}' has internal ingress: it is reachable only from inside its environment`,
        }),
      );
      return;
    }
    const answer = () => {
      if (scalesToZero(rev.template)) rev.warmUntil = this.now() + cooldownMs(rev.template);
      serveRevision(rev, this.settings.workload, req, res);
    };
    if (!scalesToZero(rev.template) || this.isWarm(rev)) return answer();
    rev.coldStart ??= new Promise<void>((resolve) =>
      setTimeout(resolve, this.settings.coldStartMs ?? 1000),
    ).then(() => {
      rev.warmUntil = this.now() + cooldownMs(rev.template);
      delete rev.coldStart;
    });
    void rev.coldStart.then(answer);
  }

  /**
   * The environment gateway: `http://127.0.0.1:<port>/<host>/<path>` serves `<path>` as a caller inside the
   * environment asking `<host>` would be answered (a jump host or VNet-integrated proxy stands in for
   * this on Azure, given to Greenlight as `guardrails.probeEndpoint` `.../{fqdn}`). `<host>` is an FQDN
   * under the environment domain (app, revision or label; `.internal.` for internal apps, as ACA names
   * them), or a local `127.0.0.1:<port>` an ARM answer gave.
   */
  private readonly gateway = createServer({ keepAliveTimeout: 2000 }, (req, res) =>
    this.viaGateway(req, res),
  );

  /** Starts the gateway (on `port`, default any free one); returns its probe endpoint template (`{fqdn}`: the host). */
  async startGateway(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.gateway.once('error', reject);
      this.gateway.listen(port, '127.0.0.1', () => {
        this.gateway.off('error', reject);
        resolve();
      });
    });
    return `http://127.0.0.1:${(this.gateway.address() as AddressInfo).port}/{fqdn}`;
  }

  private stopGateway(): Promise<void> {
    if (!this.gateway.listening) return Promise.resolve();
    this.gateway.closeAllConnections();
    return new Promise((resolve) => this.gateway.close(() => resolve()));
  }

  private environmentDomain(): string {
    return this.settings.environmentDomain ?? defaultEnvironmentDomain;
  }

  private viaGateway(req: IncomingMessage, res: ServerResponse): void {
    const [, host = '', ...rest] = (req.url ?? '/').split('/');
    const refuse = (status: number, error: string): void => {
      req.resume();
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error }));
    };
    const found = this.gatewayTarget(decodeURIComponent(host));
    if ('error' in found) return refuse(found.status, found.error);
    req.url = `/${rest.join('/')}`;
    req.headers[inEnvironmentHeader] = 'gateway';
    if (found.rev) return this.serve(found.app, found.rev, req, res);
    this.route(found.app, req, res);
  }

  /** What a host name asked through the gateway names; labels route to the revision their entry names. */
  private gatewayTarget(
    host: string,
  ): { app: AppState; rev?: RevisionState } | { status: number; error: string } {
    const local = /^127\.0\.0\.1:(\d+)$/.exec(host);
    if (local) {
      const port = Number(local[1]);
      for (const app of this.all()) {
        if (app.router.port === port && app.configuration.ingress) return { app };
        const rev = app.revisions.find((r) => r.active && r.endpoint.port === port);
        if (rev) return { app, rev };
      }
      return { status: 502, error: `nothing in the environment listens on ${host}` };
    }
    const name = parseEnvironmentHost(host, this.environmentDomain());
    const app = name ? this.all().find((a) => a.name === name.app) : undefined;
    const internal = app?.configuration.ingress?.external === false;
    if (!name || !app?.configuration.ingress || name.internal !== internal) {
      return { status: 404, error: `no app in the environment answers to ${host}` };
    }
    if (name.label !== undefined) {
      const entry = this.effectiveTraffic(app).find((t) => t.label === name.label);
      const rev = entry ? this.revision(app, entry.revisionName) : undefined;
      if (!rev?.active)
        return { status: 404, error: `label '${name.label}' of ${app.name} names no running revision` };
      return { app, rev };
    }
    if (name.revision !== undefined) {
      const rev = this.revision(app, name.revision);
      if (!rev?.active) return { status: 404, error: `revision ${name.revision} is not running` };
      return { app, rev };
    }
    return { app };
  }

  /** ACA keeps at most maxInactiveRevisions inactive revisions; older ones are dropped from the list. */
  private dropInactive(app: AppState): void {
    const referenced = new Set(this.effectiveTraffic(app).map((t) => t.revisionName));
    const drop = inactiveToDrop(app.revisions, maxInactiveOf(app.configuration), referenced);
    if (drop.length === 0) return;
    const gone = new Set(drop.map((r) => r.name));
    app.revisions = app.revisions.filter((r) => !gone.has(r.name));
  }

  /**
   * Labels mode: once the latest revision is ready, revisions no label or weight refers to shut down, the
   * latest too (it took the target label when created; a write that took the label off it retires it).
   */
  private shutUnlabelled(app: AppState): AppState {
    const latest = app.latestRevisionName ? this.revision(app, app.latestRevisionName) : undefined;
    if (!latest || this.phase(latest) !== 'ready') return app;
    const referenced = new Set(this.effectiveTraffic(app).map((t) => t.revisionName));
    for (const rev of app.revisions) {
      if (rev.active && !referenced.has(rev.name)) this.stopRevision(rev);
    }
    return app;
  }

  async stop(): Promise<void> {
    const apps = [...this.apps.values()];
    await Promise.all([
      this.stopGateway(),
      ...apps.flatMap((a) => [a.router.stop(), ...a.revisions.map((r) => r.endpoint.stop())]),
    ]);
    await this.settings.tcp?.stop();
  }
}
