/**
 * Gathering pushes into a release: the pushes of the member apps whose tags give the same key (the release
 * policy's `gather.tagKey`) are collected by one orchestration per release name and key, which starts the
 * release once every member has an image. Pure: names, shapes and the key rule.
 */

/** The activities the gathering calls (registered on their own, beside the rollout's). */
export const GatherActivities = {
  /** Every member has an image: request the release (as a push would, duplicates included). */
  start: 'startGatheredRelease',
  /** The window closed first: trigger ledger, audit entry, notification; nothing starts. */
  recordIncomplete: 'recordIncompleteGather',
} as const;

/** The event a later push of a member image is raised into the gathering as. */
export const gatherPushEvent = 'releasePush';

/** One push of a member image, as the gathering records it. */
export interface GatherPush {
  /** The member's app policy name. */
  app: string;
  /** registry/repository:tag as pushed. */
  image: string;
  digest?: string;
  eventId?: string;
  at: string;
}

export interface GatheredImage {
  image: string;
  digest?: string;
}

export interface GatherInput {
  release: string;
  key: string;
  /** The member app policy names, in the release's order. */
  members: string[];
  windowMs: number;
  /** When the first push arrived (ISO 8601): the window runs from here. */
  openedAt: string;
  first: GatherPush;
}

export type GatherState = 'Gathering' | 'Started' | 'Incomplete' | 'Refused';

/** The gathering's custom status. */
export interface GatherStatus {
  release: string;
  key: string;
  state: GatherState;
  members: string[];
  /** The newest image pushed per member so far. */
  images: Record<string, GatheredImage>;
  missing: string[];
  pushes: GatherPush[];
  openedAt: string;
  closesAt: string;
  releaseId?: string;
  detail?: string;
  ignoredEvents?: { at: string; problem: string }[];
}

export interface GatherOutcome {
  state: GatherState;
  releaseId?: string;
  detail?: string;
  missing?: string[];
}

export interface StartGatheredInput {
  release: string;
  key: string;
  /** The gathering's instance id and when it opened: with them, a retried call records the same entries. */
  gathering: string;
  openedAt: string;
  images: Record<string, GatheredImage>;
  eventIds: string[];
}

export interface IncompleteGatherInput {
  release: string;
  key: string;
  gathering: string;
  openedAt: string;
  images: Record<string, GatheredImage>;
  missing: string[];
  closedAt: string;
}
