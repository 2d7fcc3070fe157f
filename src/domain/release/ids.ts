import { createHash } from 'node:crypto';
import { imageIdentity, type ImageRef } from '../image';

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '-');

/** A release member's rollout instance id: the release id and the member's app policy name. */
export function memberRolloutId(releaseId: string, app: string): string {
  return `${releaseId}:${safe(app)}`;
}

/**
 * The release id: the release name, every member's image (its digest when known), and the release this
 * one follows. The same set of images asked for twice names the same instance (a repeated request joins it).
 */
export function releaseIdFor(name: string, images: Record<string, ImageRef>, after?: string): string {
  const parts = Object.keys(images)
    .sort()
    .map((app) => `${app}=${imageIdentity(images[app]!)}`);
  const key = `${name}|${parts.join('|')}${after ? `|after:${after}` : ''}`;
  return `${safe(name)}-${createHash('sha256').update(key.toLowerCase()).digest('hex').slice(0, 12)}`;
}
