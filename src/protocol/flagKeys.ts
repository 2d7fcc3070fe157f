// The Redis protocol Greenlight and the workload agent (`greenlight/agent`) share: key layout and record
// encoding. Neither side owns it; both import it from here.
import type { ControlRecord } from '../domain/flag/control';
import { GreenlightError } from '../domain/errors';

/**
 * Every Redis key and channel of the flag strategy. `{p}` is the key prefix Greenlight and the
 * workload agent share (e.g. `greenlight:`), `<app>` the app key (`appKey()`).
 *
 * Production Redis (the workload's own: the fence is checked next to the data it guards)
 *   {p}flags:{<app>}                      hash: `epoch`, `active` ('' for none), `record` (ControlRecord JSON)
 *   {p}flags:{<app>}:changed              channel: published after every change (payload: the record JSON)
 *   {p}flags:{<app>}:lease                production lease, `<revision>|<epoch>|<replica>`, PX ttl
 *   {p}flags:{<app>}:lastwrite            last accepted production write, `<revision>|<epoch>|<unix ms>`
 *   {p}flags:{<app>}:reports              sorted set of `<revision>|<replica>` by heartbeat (server ms)
 *   {p}flags:{<app>}:report:<revision>|<replica>   RevisionReport JSON of one agent, PX ttl
 *   {p}prod:{<app>}:<log>                 production log (a stream): `stream` (receiver), `sink` (processor)
 *   {p}prod:{<app>}:<log>:checkpoint      last id committed to that log
 *   {p}prod:{<app>}:source                newest sequence id the app's source has emitted, as far as known:
 *                                         advanced (never lowered) by every receiver that sees a frame, in any
 *                                         mode, and by a source that can write it itself; the watch measures
 *                                         the production log's lag behind it
 *
 * Temporary Redis: everything a revision writes in mock mode sits under one prefix, so it can be dropped
 *   {p}mock:{<app>}:<revision>:lease      mock-path lease, `<replica>`, PX ttl
 *   {p}mock:{<app>}:<revision>:<log>      and `<log>:checkpoint`, as in production
 *
 * `{<app>}` is a hash tag: on a clustered Redis every key one script touches falls in the same slot.
 */
export interface FlagKeys {
  record: string;
  changed: string;
  lease: string;
  lastWrite: string;
  reports: string;
  report(member: string): string;
}

/** Fields of the record hash. `epoch` and `active` are copies of the JSON's, for the fence script. */
export const recordFields = { epoch: 'epoch', active: 'active', record: 'record' } as const;

/** Log names the orchestration reads back in mock mode. */
export const mockStream = 'stream';
export const mockSink = 'sink';

function tag(app: string): string {
  return `{${app}}`;
}

export function flagKeys(prefix: string, app: string): FlagKeys {
  const base = `${prefix}flags:${tag(app)}`;
  return {
    record: base,
    changed: `${base}:changed`,
    lease: `${base}:lease`,
    lastWrite: `${base}:lastwrite`,
    reports: `${base}:reports`,
    report: (member) => `${base}:report:${member}`,
  };
}

/** Index member (and report key suffix) of one agent. */
export function reportMember(revision: string, replica: string): string {
  return `${revision}|${replica}`;
}

export function prodLogKey(prefix: string, app: string, log: string): string {
  return `${prefix}prod:${tag(app)}:${log}`;
}

export function mockPrefix(prefix: string, app: string, revision: string): string {
  return `${prefix}mock:${tag(app)}:${revision}:`;
}

export function mockKey(prefix: string, app: string, revision: string, name: string): string {
  return mockPrefix(prefix, app, revision) + name;
}

/** Where the source's position (its newest sequence id) is published; see `FlagKeys` above. */
export function sourceKey(prefix: string, app: string): string {
  return `${prefix}prod:${tag(app)}:source`;
}

export function checkpointKey(logKey: string): string {
  return `${logKey}:checkpoint`;
}

/** SCAN MATCH pattern for every key under `prefix` (glob characters in it matched literally). */
export function scanPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
}

/** `<revision>|<epoch>|...` (lease and last-write values). */
export function parseStamp(
  value: string | null | undefined,
): { revision: string; epoch: number; rest: string[] } | undefined {
  if (!value) return undefined;
  const [revision, epoch, ...rest] = value.split('|');
  const n = Number(epoch);
  if (!revision || !Number.isInteger(n)) return undefined;
  return { revision, epoch: n, rest };
}

export function encodeRecord(record: ControlRecord): Record<string, string> {
  return {
    [recordFields.epoch]: String(record.epoch),
    [recordFields.active]: record.active ?? '',
    [recordFields.record]: JSON.stringify(record),
  };
}

export function decodeRecord(json: string): ControlRecord {
  const r = JSON.parse(json) as Partial<ControlRecord>;
  if (
    typeof r.app !== 'string' ||
    typeof r.epoch !== 'number' ||
    typeof r.revisions !== 'object' ||
    !r.revisions
  ) {
    throw new GreenlightError(
      'Internal',
      `the control record in Redis lacks app, epoch or revisions; fix or delete it: ${json.slice(0, 200)}`,
    );
  }
  return {
    app: r.app,
    epoch: r.epoch,
    active: r.active ?? null,
    revisions: r.revisions,
    updatedAt: r.updatedAt ?? '',
    updatedBy: r.updatedBy ?? '',
  };
}
