import type { AppRef } from './containerApps';

/** A rollout waiting for its app, with the orchestration input it starts with. */
export interface QueuedRollout {
  rolloutId: string;
  /** The orchestration input, ready to start. */
  input: unknown;
}

/** One rollout per app: the app's slot and the queue behind it, as a finishing rollout sees them. */
export interface RolloutSlots {
  /** Frees the app when `rolloutId` holds it (compare-and-delete); true when it did. */
  releaseApp(app: AppRef, rolloutId: string): Promise<boolean>;
  /** Atomically hands a free app to the first queued rollout and returns it. */
  claimNext(app: AppRef): Promise<QueuedRollout | undefined>;
  /** Undoes `claimNext` for a rollout that could not be started: frees the app, back at the head of the queue. */
  unclaimNext(app: AppRef, item: QueuedRollout): Promise<void>;
  /** The app's newest admitted rollout (started, queued or superseding), when recorded. */
  latestRollout(app: AppRef): Promise<{ rolloutId: string } | undefined>;
  /**
   * Takes a free app for `holderId` (set-if-absent); a release holds its member apps this way. Absent
   * where releases are not run.
   */
  claimApp?(app: AppRef, holderId: string): Promise<boolean>;
  /** Who holds the app now, if anyone. */
  activeRollout?(app: AppRef): Promise<string | undefined>;
  /** Replaces a holder known to have ended (compare-and-set); true when it did. */
  takeOverApp?(app: AppRef, staleHolderId: string, holderId: string): Promise<boolean>;
  /** Records the app's newest rollout (a release records its members' when it holds their apps). */
  setLatestRollout?(
    app: AppRef,
    latest: { rolloutId: string; image: string; digest?: string },
  ): Promise<void>;
}

/** Starts a rollout orchestration (the durable client, in the Function App). */
export interface RolloutStarter {
  startRollout(rolloutId: string, input: unknown): Promise<void>;
}
