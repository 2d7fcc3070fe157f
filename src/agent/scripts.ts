import type { Redis } from 'ioredis';
import { LuaScript } from '../protocol/luaScript';

/**
 * The server-side half of the agent. Every script that writes first checks, atomically with the write,
 * that the writer may: in production, that the control record holds the writer's epoch and names its
 * revision active, and that the writer holds the lease; in mock mode, only the mock-path lease.
 */
export interface Guard {
  kind: 'prod' | 'mock';
  /** The control record (production); in mock mode any key of the same hash tag (it is not read). */
  recordKey: string;
  leaseKey: string;
  epoch: number;
  revision: string;
  /** The lease value this replica holds (`<revision>|<epoch>|<replica>` in production). */
  token: string;
}

export type Refusal =
  { refused: 'epoch'; epoch?: number; active: string | null } | { refused: 'lease'; holder: string };

// KEYS[1] record, KEYS[2] lease; ARGV[1] kind, ARGV[2] epoch, ARGV[3] revision, ARGV[4] token.
const guard = `
local function refused()
  if ARGV[1] == 'prod' then
    local f = redis.call('HMGET', KEYS[1], 'epoch', 'active')
    if f[1] ~= ARGV[2] or f[2] ~= ARGV[3] then return {'epoch', f[1] or '', f[2] or ''} end
  end
  local holder = redis.call('GET', KEYS[2])
  if holder ~= ARGV[4] then return {'lease', holder or '', ''} end
  return false
end
`;

// Idempotent per id and in order: an id at or below the checkpoint is a duplicate (acknowledged, not
// stored), one past a hole is refused unless the caller knows the hole cannot be filled.
// KEYS[3] checkpoint, KEYS[4] log, KEYS[5] acknowledged stream, KEYS[6] last write;
// ARGV[5] id, ARGV[6] allowGap, ARGV[7] group ('' = no ack), ARGV[8] entry to ack, ARGV[9..] fields.
const appendScript = new LuaScript(`${guard}
local r = refused()
if r then return r end
local cp = redis.call('GET', KEYS[3])
local id = tonumber(ARGV[5])
local function ack()
  if ARGV[7] ~= '' then redis.call('XACK', KEYS[5], ARGV[7], ARGV[8]) end
end
if cp and id <= tonumber(cp) then
  ack()
  return {'duplicate', cp, ''}
end
if cp and id > tonumber(cp) + 1 and ARGV[6] ~= '1' then return {'gap', cp, ''} end
local fields = {}
for i = 9, #ARGV do fields[#fields + 1] = ARGV[i] end
local entry = redis.call('XADD', KEYS[4], '*', unpack(fields))
redis.call('SET', KEYS[3], ARGV[5])
ack()
if ARGV[1] == 'prod' then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[6], ARGV[3] .. '|' .. ARGV[2] .. '|' .. t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000)))
end
return {'written', cp or '', entry}
`);

// Entries another consumer of the group read but never acknowledged come first (they are older than
// anything undelivered): the fence guarantees their reader can no longer write them.
// KEYS[3] stream; ARGV[5] group, ARGV[6] consumer, ARGV[7] count.
const readScript = new LuaScript(`${guard}
local r = refused()
if r then return r end
redis.pcall('XGROUP', 'CREATE', KEYS[3], ARGV[5], '0', 'MKSTREAM')
local claimed = redis.call('XAUTOCLAIM', KEYS[3], ARGV[5], ARGV[6], 0, '0-0', 'COUNT', ARGV[7])
if #claimed[2] > 0 then return {'ok', claimed[2]} end
local fresh = redis.call('XREADGROUP', 'GROUP', ARGV[5], ARGV[6], 'COUNT', ARGV[7], 'STREAMS', KEYS[3], '>')
if not fresh then return {'ok', {}} end
return {'ok', fresh[1][2]}
`);

// KEYS[3] stream; ARGV[5] group, ARGV[6..] entry ids.
const ackScript = new LuaScript(`${guard}
local r = refused()
if r then return r end
local ids = {}
for i = 6, #ARGV do ids[#ids + 1] = ARGV[i] end
return {'ok', tostring(redis.call('XACK', KEYS[3], ARGV[5], unpack(ids))), ''}
`);

// A production lease taken at an older epoch belongs to a fenced-out writer: take it without waiting
// for it to expire. ARGV[5] ttl ms.
const acquireScript = new LuaScript(`
if ARGV[1] == 'prod' then
  local f = redis.call('HMGET', KEYS[1], 'epoch', 'active')
  if f[1] ~= ARGV[2] or f[2] ~= ARGV[3] then return {'epoch', f[1] or '', f[2] or ''} end
end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[4] then
  local held = nil
  if ARGV[1] == 'prod' then held = tonumber(string.match(holder, '^[^|]*|(%d+)|')) end
  if not held or held >= tonumber(ARGV[2]) then return {'lease', holder, ''} end
end
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
return {'ok', '', ''}
`);

const renewScript = new LuaScript(`${guard}
local r = refused()
if r then return r end
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return {'ok', '', ''}
`);

const releaseScript = new LuaScript(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
);

// Scored with the server's clock, which the control plane compares against; stale index entries go.
// KEYS[1] report, KEYS[2] index; ARGV[1] report JSON, ARGV[2] ttl ms, ARGV[3] index member.
const heartbeatScript = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]))
return 1
`);

function guardArgs(g: Guard): string[] {
  return [g.kind, String(g.epoch), g.revision, g.token];
}

function refusal(reply: string[]): Refusal | undefined {
  const [status, a = '', b = ''] = reply;
  if (status === 'epoch') return { refused: 'epoch', ...(a ? { epoch: Number(a) } : {}), active: b || null };
  if (status === 'lease') return { refused: 'lease', holder: a };
  return undefined;
}

export type AppendReply =
  | Refusal
  | { status: 'written'; previous?: number; entryId: string }
  | { status: 'duplicate' | 'gap'; checkpoint: number };

export interface AppendTarget {
  log: string;
  checkpoint: string;
  /** Production only: where the last accepted write is recorded. */
  lastWrite?: string;
  /** Acknowledge this entry of a consumer group in the same step (a processor's input). */
  ack?: { stream: string; group: string; entryId: string };
}

export async function fencedAppend(
  redis: Redis,
  g: Guard,
  target: AppendTarget,
  id: number,
  fields: string[],
  allowGap: boolean,
): Promise<AppendReply> {
  const reply = (await appendScript.run(
    redis,
    [
      g.recordKey,
      g.leaseKey,
      target.checkpoint,
      target.log,
      target.ack?.stream ?? target.log,
      target.lastWrite ?? target.checkpoint,
    ],
    [
      ...guardArgs(g),
      String(id),
      allowGap ? '1' : '0',
      target.ack?.group ?? '',
      target.ack?.entryId ?? '',
      ...fields,
    ],
  )) as string[];
  const refused = refusal(reply);
  if (refused) return refused;
  const [status, cp = '', entryId = ''] = reply;
  if (status === 'written') return { status, ...(cp ? { previous: Number(cp) } : {}), entryId };
  return { status: status as 'duplicate' | 'gap', checkpoint: Number(cp) };
}

export interface LogEntry {
  entryId: string;
  fields: Record<string, string>;
}

export async function fencedRead(
  redis: Redis,
  g: Guard,
  stream: string,
  group: string,
  consumer: string,
  count: number,
): Promise<Refusal | { entries: LogEntry[] }> {
  const reply = (await readScript.run(
    redis,
    [g.recordKey, g.leaseKey, stream],
    [...guardArgs(g), group, consumer, String(count)],
  )) as unknown[];
  const refused = refusal(reply as string[]);
  if (refused) return refused;
  const rows = (reply[1] ?? []) as ([string, string[]] | null | false)[];
  return {
    entries: rows.flatMap((row) => {
      // Entries trimmed away while pending come back empty: nothing left to process.
      if (!row || !Array.isArray(row[1])) return [];
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < row[1].length; i += 2) fields[row[1][i]!] = row[1][i + 1]!;
      return [{ entryId: row[0], fields }];
    }),
  };
}

export async function fencedAck(
  redis: Redis,
  g: Guard,
  stream: string,
  group: string,
  entryIds: string[],
): Promise<Refusal | undefined> {
  if (entryIds.length === 0) return undefined;
  return refusal(
    (await ackScript.run(
      redis,
      [g.recordKey, g.leaseKey, stream],
      [...guardArgs(g), group, ...entryIds],
    )) as string[],
  );
}

export async function acquireLease(redis: Redis, g: Guard, ttlMs: number): Promise<Refusal | undefined> {
  return refusal(
    (await acquireScript.run(redis, [g.recordKey, g.leaseKey], [...guardArgs(g), String(ttlMs)])) as string[],
  );
}

export async function renewLease(redis: Redis, g: Guard, ttlMs: number): Promise<Refusal | undefined> {
  return refusal(
    (await renewScript.run(redis, [g.recordKey, g.leaseKey], [...guardArgs(g), String(ttlMs)])) as string[],
  );
}

export async function releaseLease(redis: Redis, leaseKey: string, token: string): Promise<boolean> {
  return (await releaseScript.run(redis, [leaseKey], [token])) === 1;
}

export async function writeHeartbeat(
  redis: Redis,
  keys: { report: string; index: string },
  member: string,
  json: string,
  ttlMs: number,
): Promise<void> {
  await heartbeatScript.run(redis, [keys.report, keys.index], [json, String(ttlMs), member]);
}
