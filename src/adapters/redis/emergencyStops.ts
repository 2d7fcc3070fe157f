import type { Redis } from 'ioredis';
import { stopAppKey, type EmergencyStop, type StopScope } from '../../domain/changeControl/emergencyStop';
import type { AppRef, EmergencyStopStore, StopAuditEntry } from '../../domain/ports';
import { LuaScript } from '../../protocol/luaScript';

// Engage: set the stop unless one is engaged, index it, log it; returns the stop in force.
const engageScript = new LuaScript(`local current = redis.call('GET', KEYS[1])
if current then return {0, current} end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], KEYS[1])
redis.call('LPUSH', KEYS[3], ARGV[2])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[3]) - 1)
return {1, ARGV[1]}`);

// Lift: remove the stop if engaged, unindex it, log it; returns the lifted stop.
const liftScript = new LuaScript(`local current = redis.call('GET', KEYS[1])
if not current then return false end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], KEYS[1])
redis.call('LPUSH', KEYS[3], ARGV[1])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[2]) - 1)
return current`);

const auditLength = 1000;

/**
 * Emergency stops in Redis: one key per scope (`stop:global`, `stop:app:<sub/rg/name>`), a set indexing
 * them (no SCAN), and a capped audit list. Each change is one Lua script, so a stop and its audit entry
 * are written together or not at all.
 */
export class RedisEmergencyStopStore implements EmergencyStopStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(scope: StopScope): string {
    return scope.kind === 'global'
      ? `${this.prefix}stop:global`
      : `${this.prefix}stop:app:${scope.app.toLowerCase()}`;
  }

  private get index(): string {
    return `${this.prefix}stops`;
  }

  private get log(): string {
    return `${this.prefix}stops:audit`;
  }

  async engage(stop: EmergencyStop): Promise<{ engaged: boolean; stop: EmergencyStop }> {
    const entry: StopAuditEntry = {
      action: 'engage',
      scope: stop.scope,
      by: stop.by,
      at: stop.since,
      reason: stop.reason,
    };
    const [engaged, current] = (await engageScript.run(
      this.redis,
      [this.key(stop.scope), this.index, this.log],
      [JSON.stringify(stop), JSON.stringify(entry), String(auditLength)],
    )) as [number, string];
    return { engaged: engaged === 1, stop: JSON.parse(current) as EmergencyStop };
  }

  async lift(scope: StopScope, by: string, at: string): Promise<EmergencyStop | undefined> {
    const entry: StopAuditEntry = { action: 'lift', scope, by, at };
    const lifted = (await liftScript.run(
      this.redis,
      [this.key(scope), this.index, this.log],
      [JSON.stringify(entry), String(auditLength)],
    )) as string | null;
    return lifted ? (JSON.parse(lifted) as EmergencyStop) : undefined;
  }

  async inForce(app: AppRef): Promise<EmergencyStop[]> {
    const values = await this.redis.mget(
      this.key({ kind: 'global' }),
      this.key({ kind: 'app', app: stopAppKey(app) }),
    );
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as EmergencyStop);
  }

  async list(): Promise<EmergencyStop[]> {
    const keys = await this.redis.smembers(this.index);
    if (keys.length === 0) return [];
    const values = await this.redis.mget(...keys.sort());
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as EmergencyStop);
  }

  async audit(limit = 100): Promise<StopAuditEntry[]> {
    const items = await this.redis.lrange(this.log, 0, Math.max(0, limit - 1));
    return items.map((i) => JSON.parse(i) as StopAuditEntry);
  }
}
