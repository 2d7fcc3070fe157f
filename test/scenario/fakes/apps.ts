import type {
  AppRef,
  AppSnapshot,
  ContainerAppsPort,
  DeployGreenRequest,
  DeployGreenResult,
  RevisionInfo,
  TrafficEntry,
} from '../../../src/domain/ports';
import { FakeContainerApps, type RevisionBehaviour } from './containerApps';

/**
 * Several Container Apps in memory, one `FakeContainerApps` each (by app name), for releases: every call
 * goes to the app it names. An app not added is the scenario's default app.
 */
export class FakeApps implements ContainerAppsPort {
  private readonly apps = new Map<string, FakeContainerApps>();

  constructor(private readonly fallback: FakeContainerApps) {}

  /** Adds app `name` (blue `<name>--blue` at 100%), its revisions behaving as `behaviourOf` says. */
  add(ref: AppRef, now: () => number, behaviourOf: (image: string) => RevisionBehaviour): FakeContainerApps {
    const fake = new FakeContainerApps(
      ref,
      { blue: `${ref.name}--blue`, blueImage: `registry.test/${ref.name}:v1` },
      behaviourOf,
    );
    fake.now = now;
    this.apps.set(ref.name, fake);
    return fake;
  }

  of(app: AppRef | string): FakeContainerApps {
    const name = typeof app === 'string' ? app : app.name;
    return this.apps.get(name) ?? this.fallback;
  }

  getSnapshot(app: AppRef): Promise<AppSnapshot> {
    return this.of(app).getSnapshot(app);
  }
  ensureMultipleRevisionMode(app: AppRef): Promise<{ changed: boolean }> {
    return this.of(app).ensureMultipleRevisionMode();
  }
  deployGreen(app: AppRef, request: DeployGreenRequest): Promise<DeployGreenResult> {
    return this.of(app).deployGreen(app, request);
  }
  getRevision(app: AppRef, revisionName: string): Promise<RevisionInfo> {
    return this.of(app).getRevision(app, revisionName);
  }
  setTraffic(app: AppRef, entries: TrafficEntry[], opts?: { targetLabel?: string }): Promise<void> {
    return this.of(app).setTraffic(app, entries, opts);
  }
  setLabel(app: AppRef, label: string, revisionName: string): Promise<void> {
    return this.of(app).setLabel(app, label, revisionName);
  }
  removeLabel(app: AppRef, label: string): Promise<void> {
    return this.of(app).removeLabel(app, label);
  }
  activateRevision(app: AppRef, revisionName: string): Promise<void> {
    return this.of(app).activateRevision(app, revisionName);
  }
  deactivateRevision(app: AppRef, revisionName: string): Promise<void> {
    return this.of(app).deactivateRevision(app, revisionName);
  }
  setSessionAffinity(
    app: AppRef,
    affinity: 'sticky' | 'none',
    opts?: { singleMode?: boolean },
  ): Promise<{ changed: boolean }> {
    return this.of(app).setSessionAffinity(app, affinity, opts);
  }
}
