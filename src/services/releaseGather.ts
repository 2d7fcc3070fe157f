import type { DurableClient } from 'durable-functions';
import { imageName, type ImageRef } from '../domain/image';
import type { Policy } from '../domain/policy';
import { releaseKeyOf } from '../domain/release/schema';
import type { ReleasePolicy } from '../domain/release/types';
import { gatherPushEvent, type GatherInput, type GatherPush } from '../domain/releaseGather';
import { Orchestrators, releaseGatherId } from '../names';
import { tryGetStatus } from './admission';

const finished = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

export interface Gathered {
  release: string;
  key: string;
  /** The gathering's instance id. */
  gathering: string;
  /** True when this push opened the gathering (its window starts now). */
  opened: boolean;
}

/**
 * The releases a push of `policy`'s image is gathered into: every release the app policy is a member of
 * whose `gather.tagKey` gives the tag a key. None: the push goes on as the app's own rollout.
 */
export function gatheringsFor(
  releases: readonly ReleasePolicy[],
  policy: Policy,
  image: ImageRef,
): { release: ReleasePolicy; key: string }[] {
  if (image.tag === undefined) return [];
  return releases.flatMap((release) => {
    if (!release.members.includes(policy.name)) return [];
    const key = releaseKeyOf(image.tag!, release.gather.tagKey);
    return key ? [{ release, key }] : [];
  });
}

/**
 * Gathers one push: raised into the running gathering of its release and key, or opens one (a gathering
 * that ended, started or incomplete, is replaced: the window starts again with this push). Two pushes
 * racing to open the same gathering: the second's start is refused, and it is raised into the first.
 */
export async function gatherPush(
  client: DurableClient,
  target: { release: ReleasePolicy; key: string },
  policy: Policy,
  image: ImageRef,
  push: { eventId?: string; at: string },
): Promise<Gathered> {
  const { release, key } = target;
  const gathering = releaseGatherId(release.name, key);
  const data: GatherPush = {
    app: policy.name,
    image: imageName(image),
    ...(image.digest ? { digest: image.digest } : {}),
    ...(push.eventId !== undefined ? { eventId: push.eventId.slice(0, 200) } : {}),
    at: push.at,
  };
  const raise = async (): Promise<Gathered> => {
    await client.raiseEvent(gathering, gatherPushEvent, data);
    return { release: release.name, key, gathering, opened: false };
  };
  const current = await tryGetStatus(client, gathering);
  if (current && !finished.has(String(current.runtimeStatus))) return raise();
  const input: GatherInput = {
    release: release.name,
    key,
    members: [...release.members],
    windowMs: release.gather.window,
    openedAt: push.at,
    first: data,
  };
  try {
    await client.startNew(Orchestrators.releaseGather, { instanceId: gathering, input });
  } catch (e) {
    const now = await tryGetStatus(client, gathering);
    if (!now || finished.has(String(now.runtimeStatus))) throw e;
    return raise();
  }
  return { release: release.name, key, gathering, opened: true };
}
