import type {
  ContainerApp,
  ContainerAppsAPIClient,
  Container,
  EnvironmentVar,
  Revision,
  TrafficWeight,
} from '@azure/arm-appcontainers';
import { GreenlightError, errorCode } from '../../domain/errors';
import { isFullyQualifiedImage, revisionNameProblem } from '../../domain/revisionSuffix';
import { targetLabelHeader } from './client';
import { type ArmCall, toGreenlightError } from './errors';
import { revisionScopeOf } from './revisionScope';
import type {
  AppRef,
  AppSnapshot,
  ContainerAppsPort,
  DeployGreenRequest,
  DeployGreenResult,
  RevisionInfo,
  TrafficEntry,
} from '../../domain/ports/containerApps';
import {
  labelProblem,
  sameTraffic,
  trafficProblems,
  trafficShapeProblems,
  withLabel,
  withoutLabel,
} from '../../domain/rollout/traffic';
import { hasLatestRevisionEntry, normalizeTraffic, targetLabelOf, toWireTraffic } from './traffic';

export interface AzureContainerAppsAdapterOptions {
  /** The SDK client for a subscription (the factory caches one per subscription). */
  clientFor: (subscriptionId: string) => ContainerAppsAPIClient;
  /** Poll interval of long-running operations when ARM sends no Retry-After; default 2000 ms. */
  lroPollIntervalMs?: number;
}

/** Longest first wait a write's `Retry-After` may impose before its operation is polled. */
const maxInitialPollDelayMs = 60_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Seconds (ARM's unit) or an HTTP date, as milliseconds from now. */
function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

interface AppState {
  app: ContainerApp;
  revisions: Revision[];
  snapshot: AppSnapshot;
}

const appWhat = (app: AppRef): string => `app '${app.name}'`;
const revisionWhat = (app: AppRef, revision: string): string => `revision '${revision}' of app '${app.name}'`;

function invalidTraffic(app: AppRef, problems: string[]): GreenlightError {
  return new GreenlightError(
    'InvalidTraffic',
    `traffic for app '${app.name}' is invalid: ${problems.join('; ')}`,
    { app: app.name, problems },
  );
}

function revisionInfo(r: Revision): RevisionInfo {
  return {
    name: r.name ?? '',
    image: r.template?.containers?.[0]?.image,
    active: r.active === true,
    createdTime: r.createdTime?.toISOString(),
    provisioningState: r.provisioningState,
    healthState: r.healthState,
    runningState: r.runningState,
    provisioningError: r.provisioningError,
    fqdn: r.fqdn,
    replicas: r.replicas ?? 0,
    trafficWeight: r.trafficWeight ?? 0,
    // Active revisions only (blue is one): the drift check needs no more, and the snapshot stays small.
    ...(r.active === true ? { template: revisionScopeOf(r.template) } : {}),
  };
}

/** Where `latestRevision: true` traffic actually goes: the latest ready revision (ACA's "latest stable"). */
function latestTarget(app: ContainerApp): string | undefined {
  return app.latestReadyRevisionName ?? app.latestRevisionName;
}

function mergeEnv(
  current: EnvironmentVar[] | undefined,
  extra: Record<string, string> | undefined,
): EnvironmentVar[] | undefined {
  if (!extra || Object.keys(extra).length === 0) return current;
  const out = (current ?? []).filter((e) => e.name === undefined || !Object.hasOwn(extra, e.name));
  for (const [name, value] of Object.entries(extra)) out.push({ name, value });
  return out;
}

/**
 * ContainerAppsPort on the real `@azure/arm-appcontainers` client. Every method is desired-state and
 * idempotent: it reads first and skips the write when the app is already as asked.
 */
export class AzureContainerAppsAdapter implements ContainerAppsPort {
  private readonly lroPollIntervalMs: number;
  /** Each app's location, learnt from any read of it: a write needs it, and it never changes. */
  private readonly locations = new Map<string, string>();

  constructor(private readonly opts: AzureContainerAppsAdapterOptions) {
    this.lroPollIntervalMs = opts.lroPollIntervalMs ?? 2000;
  }

  private async arm<T>(call: ArmCall, fn: (client: ContainerAppsAPIClient) => Promise<T>): Promise<T> {
    try {
      return await fn(this.opts.clientFor(call.app.subscriptionId));
    } catch (e) {
      throw toGreenlightError(e, call);
    }
  }

  private static key(app: AppRef): string {
    return `${app.subscriptionId}/${app.resourceGroup}/${app.name}`.toLowerCase();
  }

  private async getApp(app: AppRef): Promise<ContainerApp> {
    return (await this.getAppAndTargetLabel(app)).app;
  }

  /**
   * The app, and its Labels-mode target label read from the raw answer: the SDK's model has no
   * `targetLabel`, so its deserializer drops it.
   */
  private async getAppAndTargetLabel(app: AppRef): Promise<{ app: ContainerApp; targetLabel?: string }> {
    let targetLabel: string | undefined;
    const got = await this.arm({ verb: 'GET', what: appWhat(app), app }, (c) =>
      c.containerApps.get(app.resourceGroup, app.name, {
        onResponse: (raw) => {
          targetLabel = targetLabelOf(raw.bodyAsText ?? undefined);
        },
      }),
    );
    if (got.location) this.locations.set(AzureContainerAppsAdapter.key(app), got.location);
    return { app: got, ...(targetLabel ? { targetLabel } : {}) };
  }

  /** A write that set a target label: read it back, since only the raw body carries it. */
  private async checkTargetLabel(app: AppRef, expected: string): Promise<void> {
    const { targetLabel } = await this.getAppAndTargetLabel(app);
    if (targetLabel !== expected) {
      throw new GreenlightError(
        'ArmError',
        `app '${app.name}' kept target label '${targetLabel ?? 'none'}' after a write that set '${expected}': is the client built by createContainerAppsClient (its targetLabel policy)?`,
        { targetLabel, expected },
      );
    }
  }

  /** The app's location, read only when this process has not seen the app yet. */
  private async locationOf(app: AppRef): Promise<string> {
    return this.locations.get(AzureContainerAppsAdapter.key(app)) ?? (await this.getApp(app)).location;
  }

  private listRevisions(app: AppRef): Promise<Revision[]> {
    return this.arm({ verb: 'GET', what: `revisions of app '${app.name}'`, app }, async (c) => {
      const out: Revision[] = [];
      for await (const r of c.containerAppsRevisions.listRevisions(app.resourceGroup, app.name)) out.push(r);
      return out;
    });
  }

  private getRevisionRaw(app: AppRef, revisionName: string): Promise<Revision> {
    return this.arm({ verb: 'GET', what: revisionWhat(app, revisionName), app }, (c) =>
      c.containerAppsRevisions.getRevision(app.resourceGroup, app.name, revisionName),
    );
  }

  private async findRevision(app: AppRef, revisionName: string): Promise<Revision | undefined> {
    try {
      return await this.getRevisionRaw(app, revisionName);
    } catch (e) {
      if (errorCode(e) === 'NotFound') return undefined;
      throw e;
    }
  }

  /**
   * PATCH (JSON merge patch) and wait for the long-running operation. The SDK's poller polls at once after the
   * write, then as each poll's `Retry-After` says (else every `lroPollIntervalMs`); the write's own
   * `Retry-After` is honoured here, so the first poll too comes when ARM asked for it.
   */
  private patchApp(
    app: AppRef,
    location: string,
    change: Omit<ContainerApp, 'location'>,
    targetLabel?: string,
  ): Promise<ContainerApp> {
    return this.arm({ verb: 'PATCH', what: appWhat(app), app }, async (c) => {
      let firstPollAfterMs: number | undefined;
      const poller = c.containerApps.update(
        app.resourceGroup,
        app.name,
        { location, ...change },
        {
          updateIntervalInMs: this.lroPollIntervalMs,
          ...(targetLabel !== undefined
            ? { requestOptions: { headers: { [targetLabelHeader]: targetLabel } } }
            : {}),
          onResponse: (response) => {
            firstPollAfterMs = parseRetryAfter(response.headers.get('retry-after'));
          },
        },
      );
      await poller.submitted();
      if (!poller.isDone && firstPollAfterMs) await delay(Math.min(firstPollAfterMs, maxInitialPollDelayMs));
      return await poller.pollUntilDone();
    });
  }

  private async load(app: AppRef): Promise<AppState> {
    const [{ app: containerApp, targetLabel }, revisions] = await Promise.all([
      this.getAppAndTargetLabel(app),
      this.listRevisions(app),
    ]);
    const mode = containerApp.configuration?.activeRevisionsMode;
    const snapshot: AppSnapshot = {
      app: { subscriptionId: app.subscriptionId, resourceGroup: app.resourceGroup, name: app.name },
      resourceId: containerApp.id ?? '',
      // ACA's default (no mode set) is Single.
      revisionMode: mode?.toLowerCase() === 'multiple' ? 'Multiple' : 'Single',
      latestRevisionName: containerApp.latestRevisionName,
      latestReadyRevisionName: containerApp.latestReadyRevisionName,
      image: containerApp.template?.containers?.[0]?.image,
      ingressFqdn: containerApp.configuration?.ingress?.fqdn,
      traffic: normalizeTraffic(containerApp.configuration?.ingress?.traffic, latestTarget(containerApp)),
      revisions: revisions.map(revisionInfo),
      activeRevisionsMode: mode,
      ...(targetLabel ? { targetLabel } : {}),
      stickySessions: containerApp.configuration?.ingress?.stickySessions?.affinity,
      ingressExternal: containerApp.configuration?.ingress?.external,
      maxInactiveRevisions: containerApp.configuration?.maxInactiveRevisions,
      template: revisionScopeOf(containerApp.template),
    };
    return { app: containerApp, revisions, snapshot };
  }

  async getSnapshot(app: AppRef): Promise<AppSnapshot> {
    return (await this.load(app)).snapshot;
  }

  async ensureMultipleRevisionMode(app: AppRef): Promise<{ changed: boolean }> {
    const current = await this.getApp(app);
    if (current.configuration?.activeRevisionsMode?.toLowerCase() === 'multiple') return { changed: false };
    await this.patchApp(app, current.location, { configuration: { activeRevisionsMode: 'Multiple' } });
    return { changed: true };
  }

  async deployGreen(app: AppRef, request: DeployGreenRequest): Promise<DeployGreenResult> {
    if (!isFullyQualifiedImage(request.image)) {
      throw new GreenlightError(
        'InvalidRequest',
        `image must be a fully qualified reference (registry/repo:tag or registry/repo@sha256:...); got '${request.image}'`,
        { image: request.image },
      );
    }
    const suffixProblem = revisionNameProblem(app.name, request.revisionSuffix);
    if (suffixProblem)
      throw new GreenlightError('InvalidRequest', suffixProblem, { revisionSuffix: request.revisionSuffix });
    const revisionName = `${app.name}--${request.revisionSuffix}`;

    const [current, existing] = await Promise.all([this.getApp(app), this.findRevision(app, revisionName)]);
    const containers: Container[] = current.template?.containers ?? [];
    const index = request.containerName ? containers.findIndex((c) => c.name === request.containerName) : 0;
    const target = containers[index];
    if (!target) {
      throw new GreenlightError(
        'InvalidRequest',
        request.containerName
          ? `container '${request.containerName}' not found in app '${app.name}'; its containers: ${containers.map((c) => c.name).join(', ') || 'none'}`
          : `app '${app.name}' has no container in its template`,
        { containerName: request.containerName },
      );
    }

    if (existing) {
      // A retried deploy: the revision is there. Same image: done. Another image: the suffix is taken.
      const existingImage = existing.template?.containers?.find((c) => c.name === target.name)?.image;
      if (existingImage !== request.image) {
        throw new GreenlightError(
          'Conflict',
          `revision '${revisionName}' already exists with image '${existingImage ?? 'unknown'}', so it cannot run '${request.image}'; a new image needs a new revision suffix (see revisionSuffixFor)`,
          { revisionName, existingImage, image: request.image },
        );
      }
      // Already read: activate without reading it again.
      if (existing.active !== true) await this.postActivate(app, revisionName);
      return { revisionName, created: false };
    }

    const template = {
      ...current.template,
      revisionSuffix: request.revisionSuffix,
      containers: containers.map((c, i) =>
        i === index ? { ...c, image: request.image, env: mergeEnv(c.env, request.env) } : c,
      ),
      ...(request.minReplicas !== undefined
        ? { scale: { ...current.template?.scale, minReplicas: request.minReplicas } }
        : {}),
    };
    // Pin today's traffic to revision names in the same change: a `latestRevision: true` entry left as is
    // would hand its weight to green the moment green is ready.
    const ingress = current.configuration?.ingress;
    const pinned: TrafficWeight[] | undefined = ingress
      ? toWireTraffic(normalizeTraffic(ingress.traffic, latestTarget(current)))
      : undefined;
    // Labels mode: the new revision takes the target label, so it is the rollout's green label in this
    // same write (the app's own may carry production traffic, which green would take at once).
    await this.patchApp(
      app,
      current.location,
      { template, ...(pinned ? { configuration: { ingress: { traffic: pinned } } } : {}) },
      request.targetLabel,
    );
    if (request.targetLabel !== undefined) await this.checkTargetLabel(app, request.targetLabel);
    return { revisionName, created: true };
  }

  async setSessionAffinity(
    app: AppRef,
    affinity: 'sticky' | 'none',
    opts: { singleMode?: boolean } = {},
  ): Promise<{ changed: boolean }> {
    const current = await this.getApp(app);
    const ingress = current.configuration?.ingress;
    if (!ingress) return { changed: false };
    const modeOk = !opts.singleMode || current.configuration?.activeRevisionsMode?.toLowerCase() === 'single';
    if ((ingress.stickySessions?.affinity ?? 'none') === affinity && modeOk) return { changed: false };
    await this.patchApp(app, current.location, {
      configuration: {
        ...(opts.singleMode ? { activeRevisionsMode: 'Single' } : {}),
        ingress: { stickySessions: { affinity } },
      },
    });
    return { changed: true };
  }

  async getRevision(app: AppRef, revisionName: string): Promise<RevisionInfo> {
    return revisionInfo(await this.getRevisionRaw(app, revisionName));
  }

  /**
   * The desired traffic is known in full, so the app itself is not read: the revisions are (to refuse weight on
   * a missing or inactive revision before ARM would), then one PATCH sets it. Writing the same traffic twice
   * leaves it as it is, so a retried call stays idempotent.
   */
  async setTraffic(app: AppRef, entries: TrafficEntry[], opts: { targetLabel?: string } = {}): Promise<void> {
    const shape = trafficShapeProblems(entries);
    if (shape.length > 0) throw invalidTraffic(app, shape);
    const [revisions, location] = await Promise.all([this.listRevisions(app), this.locationOf(app)]);
    const problems = trafficProblems(entries, revisions.map(revisionInfo));
    if (problems.length > 0) throw invalidTraffic(app, problems);
    await this.patchApp(
      app,
      location,
      { configuration: { ingress: { traffic: toWireTraffic(entries) } } },
      opts.targetLabel,
    );
    if (opts.targetLabel !== undefined) await this.checkTargetLabel(app, opts.targetLabel);
  }

  /** Validates against the app and PATCHes the traffic, unless it is already exactly that (and pinned). */
  private async writeTraffic(app: AppRef, state: AppState, entries: TrafficEntry[]): Promise<void> {
    const ingress = state.app.configuration?.ingress;
    if (!ingress)
      throw invalidTraffic(app, [`app '${app.name}' has no ingress, so it has no traffic to set`]);
    const problems = trafficProblems(entries, state.snapshot.revisions);
    if (problems.length > 0) throw invalidTraffic(app, problems);
    if (sameTraffic(state.snapshot.traffic, entries) && !hasLatestRevisionEntry(ingress.traffic)) return;
    await this.patchApp(app, state.app.location, {
      configuration: { ingress: { traffic: toWireTraffic(entries) } },
    });
  }

  async setLabel(app: AppRef, label: string, revisionName: string): Promise<void> {
    const problem = labelProblem(label);
    if (problem) throw invalidTraffic(app, [problem]);
    const state = await this.load(app);
    const revision = state.snapshot.revisions.find((r) => r.name === revisionName);
    if (!revision) throw invalidTraffic(app, [`revision '${revisionName}' does not exist`]);
    if (!revision.active)
      throw invalidTraffic(app, [`revision '${revisionName}' is inactive; activate it before labelling it`]);
    await this.writeTraffic(app, state, withLabel(state.snapshot.traffic, label, revisionName));
  }

  async removeLabel(app: AppRef, label: string): Promise<void> {
    const state = await this.load(app);
    await this.writeTraffic(app, state, withoutLabel(state.snapshot.traffic, label));
  }

  async activateRevision(app: AppRef, revisionName: string): Promise<void> {
    const revision = await this.getRevisionRaw(app, revisionName);
    if (revision.active !== true) await this.postActivate(app, revisionName);
  }

  private async postActivate(app: AppRef, revisionName: string): Promise<void> {
    await this.arm({ verb: 'POST', what: `activate ${revisionWhat(app, revisionName)}`, app }, (c) =>
      c.containerAppsRevisions.activateRevision(app.resourceGroup, app.name, revisionName),
    );
  }

  async deactivateRevision(app: AppRef, revisionName: string): Promise<void> {
    const revision = await this.getRevisionRaw(app, revisionName);
    if (revision.active !== true) return;
    const weight = revision.trafficWeight ?? 0;
    if (weight > 0) {
      throw new GreenlightError(
        'Conflict',
        `refusing to deactivate revision '${revisionName}' of app '${app.name}': it carries ${weight}% of traffic; move its traffic to other revisions first`,
        { revisionName, trafficWeight: weight },
      );
    }
    await this.arm({ verb: 'POST', what: `deactivate ${revisionWhat(app, revisionName)}`, app }, (c) =>
      c.containerAppsRevisions.deactivateRevision(app.resourceGroup, app.name, revisionName),
    );
  }
}
