import { Redis } from 'ioredis';
import { scanPattern, sourceKey } from '../../../src/protocol/flagKeys';
import { readSourcePosition } from '../../../src/protocol/sourcePosition';
import { RedisControlPlane } from '../../../src/adapters/flags/redisControlPlane';
import type { ImageBehaviour } from '../../containerapps-emulator/images';
import type { RevisionPhase } from '../http';
import { TcpFrameSource } from './source';
import { defaultStallAfterMs, TcpWorker, type TcpWorkerOptions } from './worker';

/** Seed option: the app is an always-on TCP receiver + processor instead of the HTTP sample. */
export interface TcpWorkloadSpec {
  kind: 'tcp';
  /**
   * The TCP source its revisions read: `host`/`port` of a running one, or else the emulator starts one
   * for the app emitting a frame every `frameIntervalMs`.
   */
  source?: { host?: string; port?: number; frameIntervalMs?: number };
}

export interface TcpWorkloadSettings {
  /** Redis URLs the revisions get as `PROD_REDIS_URL` / `TEMP_REDIS_URL`, and the shared key prefix. */
  redis: { prodUrl: string; tempUrl: string; keyPrefix?: string };
  /** Default frame interval of the sources the emulator starts; default 100 ms. */
  frameIntervalMs?: number;
  /** Agent timings and logger for every revision. */
  agent?: TcpWorkerOptions['agent'];
  logger?: { info(message: string): void };
}

interface TrackedRevision {
  app: string;
  name: string;
  phase(): RevisionPhase;
  behaviour: ImageBehaviour;
  worker?: TcpWorker;
  busy?: Promise<void>;
  retryAt?: number;
}

const reconcileIntervalMs = 25;

/**
 * Runs the TCP workers of the emulated revisions: one per revision while it is running (active and
 * provisioned), stopped when it is deactivated, fails or the emulator stops.
 */
export class TcpWorkloads {
  private readonly sources = new Map<string, { host: string; port: number; owned?: TcpFrameSource }>();
  private readonly revisions = new Map<string, TrackedRevision>();
  private readonly redis: Redis;
  private readonly control: RedisControlPlane;
  private readonly keyPrefix: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly settings: TcpWorkloadSettings) {
    this.keyPrefix = settings.redis.keyPrefix ?? 'greenlight:';
    this.redis = new Redis(settings.redis.prodUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
    this.control = new RedisControlPlane(this.redis, this.keyPrefix);
  }

  /** Starts (or names) the app's source and records its seeded revision as production since long ago. */
  async attachApp(app: string, spec: TcpWorkloadSpec, productionRevision: string): Promise<void> {
    const record = await this.control.ensure(app, productionRevision, 'bootstrap');
    if (record.active !== productionRevision) {
      // A record left by an earlier run names revisions this emulator does not have: start over from the
      // seeded revision, with the epoch moving forward so writers of that run stay fenced out.
      await this.control.restore(
        app,
        {
          ...record,
          active: productionRevision,
          revisions: { [productionRevision]: { mode: 'prod', binding: 'prod' } },
        },
        record.epoch,
        'bootstrap',
      );
    }
    if (this.sources.has(app)) return;
    if (spec.source?.port !== undefined) {
      this.sources.set(app, { host: spec.source.host ?? '127.0.0.1', port: spec.source.port });
      return;
    }
    const owned = new TcpFrameSource({
      frameIntervalMs: spec.source?.frameIntervalMs ?? this.settings.frameIntervalMs ?? 100,
      // Logs of an earlier run against the same Redis refuse ids they already hold: continue after them.
      firstFrameId: (await this.lastCommittedId(app)) + 1,
      position: { redis: this.redis, key: sourceKey(this.keyPrefix, app) },
    });
    this.sources.set(app, { ...(await owned.listen()), owned });
  }

  track(app: string, revision: { name: string; phase(): RevisionPhase; behaviour: ImageBehaviour }): void {
    this.revisions.set(`${app}|${revision.name}`, {
      app,
      name: revision.name,
      phase: () => revision.phase(),
      behaviour: revision.behaviour,
    });
    this.timer ??= setInterval(() => this.reconcile(), reconcileIntervalMs).unref();
    this.reconcile();
  }

  source(app: string): TcpFrameSource | undefined {
    return this.sources.get(app)?.owned;
  }

  worker(app: string, revision: string): TcpWorker | undefined {
    return this.revisions.get(`${app}|${revision}`)?.worker;
  }

  async detachApp(app: string): Promise<void> {
    const mine = [...this.revisions.entries()].filter(([, r]) => r.app === app);
    for (const [key] of mine) this.revisions.delete(key);
    await Promise.all(
      mine.map(async ([, r]) => {
        await r.busy;
        await this.stopWorker(r);
      }),
    );
    await this.sources.get(app)?.owned?.close();
    this.sources.delete(app);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([...this.sources.keys()].map((app) => this.detachApp(app)));
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /**
   * Highest checkpoint of any production or mock log of the app, or source position published (0 when
   * none): the source position only moves forward, so a new source numbers on after it.
   */
  private async lastCommittedId(app: string): Promise<number> {
    const pattern = `${scanPattern(this.keyPrefix).slice(0, -1)}*{${app}}*:checkpoint`;
    let cursor = '0';
    let last = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0)
        for (const v of await this.redis.mget(...keys)) last = Math.max(last, Number(v ?? 0));
    } while (cursor !== '0');
    return Math.max(last, (await readSourcePosition(this.redis, sourceKey(this.keyPrefix, app))) ?? 0);
  }

  private reconcile(): void {
    for (const r of this.revisions.values()) {
      if (r.busy) continue;
      const running = r.phase() === 'ready';
      let step: Promise<void> | undefined;
      if (running && !r.worker && (r.retryAt ?? 0) <= Date.now()) step = this.startWorker(r);
      else if (!running && r.worker) step = this.stopWorker(r);
      if (step) r.busy = step.finally(() => (r.busy = undefined));
    }
  }

  private async startWorker(r: TrackedRevision): Promise<void> {
    const source = this.sources.get(r.app);
    if (!source) return;
    const worker = new TcpWorker({
      app: r.app,
      revision: r.name,
      replica: `${r.name}-0`,
      source,
      prodUrl: this.settings.redis.prodUrl,
      tempUrl: this.settings.redis.tempUrl,
      keyPrefix: this.keyPrefix,
      faults: {
        drops: r.behaviour.drops,
        malformed: r.behaviour.malformed,
        nolease: r.behaviour.nolease,
        ...(r.behaviour.stall ? { stallAfterMs: defaultStallAfterMs } : {}),
      },
      ...(this.settings.agent ? { agent: this.settings.agent } : {}),
    });
    try {
      await worker.start();
      r.worker = worker;
      this.settings.logger?.info(`TCP worker of ${r.name} started`);
    } catch (e) {
      await worker.stop();
      r.retryAt = Date.now() + 1_000;
      this.settings.logger?.info(`TCP worker of ${r.name} could not start: ${(e as Error).message}`);
    }
  }

  private async stopWorker(r: TrackedRevision): Promise<void> {
    const worker = r.worker;
    r.worker = undefined;
    await worker?.stop();
  }
}
