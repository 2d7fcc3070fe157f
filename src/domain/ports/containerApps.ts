/**
 * What Greenlight needs from Azure Container Apps. The implementation runs on the real
 * `@azure/arm-appcontainers` client; tests point that client at the local emulator.
 * Every operation is idempotent: calling it twice leaves the same state as calling it once.
 */
export interface AppRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

/** One ingress traffic entry, with `latestRevision: true` already resolved to a revision name. */
export interface TrafficEntry {
  revisionName: string;
  weight: number;
  label?: string;
}

export type RevisionMode = 'Single' | 'Multiple';

export interface RevisionInfo {
  name: string;
  image?: string;
  active: boolean;
  createdTime?: string;
  /** Provisioning | Provisioned | Failed | Deprovisioning | Deprovisioned */
  provisioningState?: string;
  /** Healthy | Unhealthy | None */
  healthState?: string;
  /** Running | Processing | Stopped | Degraded | Failed | Unknown */
  runningState?: string;
  provisioningError?: string;
  /** Host name of the revision's own endpoint (no scheme). */
  fqdn?: string;
  replicas: number;
  trafficWeight: number;
  /** The revision's revision-scope settings, compared with the app's template to find drift. */
  template?: RevisionScope;
}

/**
 * Revision-scope settings of a template (a change to any of them makes a new revision), reduced to what
 * a drift check compares: per container env (values and secret refs), resources and probes, and scale.
 */
export interface RevisionScope {
  containers: {
    name: string;
    image?: string;
    env: { name: string; value?: string; secretRef?: string }[];
    resources?: { cpu?: number; memory?: string };
    probes: unknown[];
  }[];
  scale: { minReplicas?: number; maxReplicas?: number; rules: unknown[] };
}

/** Everything needed to put the app back exactly as it was. */
export interface AppSnapshot {
  app: AppRef;
  resourceId: string;
  revisionMode: RevisionMode;
  latestRevisionName?: string;
  latestReadyRevisionName?: string;
  /** Image of the first container in the current template. */
  image?: string;
  ingressFqdn?: string;
  /** Exact traffic, labels included; empty when the app has no ingress. */
  traffic: TrafficEntry[];
  revisions: RevisionInfo[];
  /** activeRevisionsMode exactly as ARM returned it, e.g. 'Labels' (which `revisionMode` cannot express). */
  activeRevisionsMode?: string;
  /** Target label of Labels revision mode, when the client could read it. */
  targetLabel?: string;
  /** `ingress.stickySessions.affinity`: 'sticky' or 'none'. */
  stickySessions?: string;
  /** `ingress.external`: false for an app reachable only inside its environment. */
  ingressExternal?: boolean;
  /** `configuration.maxInactiveRevisions`; ACA keeps 100 inactive revisions when unset. */
  maxInactiveRevisions?: number;
  /** The app's current template: what a new revision starts from. */
  template?: RevisionScope;
}

export interface DeployGreenRequest {
  image: string;
  /** Deterministic suffix (see domain/revisionSuffix): the same image gives the same revision. */
  revisionSuffix: string;
  /** Container to update; defaults to the first container of the template. */
  containerName?: string;
  /** Extra env vars for the new revision (e.g. the revision's control-plane binding). */
  env?: Record<string, string>;
  /** Guardrail: green's minimum replicas when the app's template would scale it to zero. */
  minReplicas?: number;
  /**
   * Labels revision mode: the app's target label for this deploy, so the new revision takes this label
   * (the rollout's green label) and not the app's own target label, which may carry production traffic.
   */
  targetLabel?: string;
}

export interface DeployGreenResult {
  revisionName: string;
  /** False when the revision already existed (a retried call). */
  created: boolean;
}

export interface ContainerAppsPort {
  getSnapshot(app: AppRef): Promise<AppSnapshot>;
  ensureMultipleRevisionMode(app: AppRef): Promise<{ changed: boolean }>;
  /** Creates the green revision from a new template while keeping current traffic, so green gets 0%. */
  deployGreen(app: AppRef, request: DeployGreenRequest): Promise<DeployGreenResult>;
  getRevision(app: AppRef, revisionName: string): Promise<RevisionInfo>;
  /**
   * Sets exactly these weights and labels (weights sum to 100, revisions known) or throws InvalidTraffic;
   * `targetLabel` (Labels revision mode) sets the app's target label in the same write.
   */
  setTraffic(app: AppRef, entries: TrafficEntry[], opts?: { targetLabel?: string }): Promise<void>;
  /** Points `label` at `revisionName` (weight unchanged, 0 when the revision had no entry). */
  setLabel(app: AppRef, label: string, revisionName: string): Promise<void>;
  removeLabel(app: AppRef, label: string): Promise<void>;
  activateRevision(app: AppRef, revisionName: string): Promise<void>;
  deactivateRevision(app: AppRef, revisionName: string): Promise<void>;
  /**
   * Sets ingress session affinity; `singleMode` also puts the app back in Single revision mode (affinity
   * works only there). Returns false when it already was so.
   */
  setSessionAffinity(
    app: AppRef,
    affinity: 'sticky' | 'none',
    opts?: { singleMode?: boolean },
  ): Promise<{ changed: boolean }>;
}
