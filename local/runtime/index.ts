import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { Redis } from 'ioredis';
import { type Clock, systemClock } from '../clock';
import { DurableEngine, type SkipRule } from './engine';
import { capturedFunctions, type CapturedFunction } from './functionsCore';
import { provideFunctionsCore } from './hook';
import { loadHostKeys, type HostKeys } from './keys';
import { buildServer } from './server';
import { InstanceStore } from './store';
import { durableClientData } from './urls';

export interface LocalRuntimeOptions {
  /** Loads the app, which registers its functions (e.g. `() => require('dist/src/index.js')`). */
  register: () => void;
  redisUrl: string;
  /** Prefix for every key the runtime writes (instances, history, timers). */
  keyPrefix: string;
  /** Port on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
  clock?: Clock;
  /** App settings, set in process.env before the app loads. */
  env?: Record<string, string>;
  /** App setting that receives the runtime's base URL once the port is known. */
  publicBaseUrlSetting?: string;
  keysFile?: string;
  taskHub?: string;
  maxConcurrentActivities?: number;
  bodyLimit?: number;
  logger?: { info(line: string): void };
}

export interface LocalRuntime {
  baseUrl: string;
  keys: HostKeys;
  taskHub: string;
  /** The real `DurableClient` of `durable-functions`, bound to this runtime. */
  durableClient(): df.DurableClient;
  /** Registered functions by name and trigger type. */
  functions(): { name: string; trigger: string; route?: string }[];
  /** Resolves when nothing runs (with a virtual clock: once no timer is left to skip to). */
  whenIdle(): Promise<void>;
  /** Virtual clock only: turn skipping to the next timer off while a test acts, then on again. */
  setTimeSkipping(on: boolean | SkipRule): void;
  /** Instances resumed from Redis at start-up. */
  resumed: number;
  stop(): Promise<void>;
}

/**
 * The local Functions host: loads the unchanged app, serves its HTTP and Event Grid triggers and the
 * Durable HTTP API, and runs orchestrations with their state in Redis so a restart resumes them.
 */
export async function startLocalRuntime(opts: LocalRuntimeOptions): Promise<LocalRuntime> {
  provideFunctionsCore();
  const log = (line: string): void => opts.logger?.info(line);
  const clock = opts.clock ?? systemClock;
  const taskHub = opts.taskHub ?? 'GreenlightLocal';
  const keys = await loadHostKeys(opts.keysFile ?? resolve('.greenlight/host-keys.json'));
  const rpcToken = randomBytes(16).toString('hex');
  const redis = new Redis(opts.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();

  let baseUrl = '';
  let registry = new Map<string, CapturedFunction>();
  // Known once the port is: built then, handed to every durable client input.
  let clientDataValue: unknown;
  const clientData = (): unknown => clientDataValue;

  const engine = new DurableEngine({
    store: new InstanceStore(redis, opts.keyPrefix),
    clock,
    functions: () => registry,
    clientData,
    log: (kind, line) => log(`${kind === 'orch' ? 'orch ' : 'act  '} ${line}`),
    maxConcurrentActivities: opts.maxConcurrentActivities ?? 10,
  });
  const server = buildServer({
    functions: () => registry,
    engine,
    keys,
    taskHub,
    rpcToken,
    baseUrl: () => baseUrl,
    clientData,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    log,
  });

  try {
    await server.listen({ host: '127.0.0.1', port: opts.port ?? 0 });
    const address = server.server.address();
    const port = typeof address === 'object' && address ? address.port : opts.port;
    baseUrl = `http://127.0.0.1:${port}`;
    clientDataValue = durableClientData({ baseUrl, taskHub, systemKey: keys.system }, rpcToken);

    // As Core Tools does: the host name tells durable-functions not to rewrite its URLs to localhost:7071.
    process.env.WEBSITE_HOSTNAME = `127.0.0.1:${port}`;
    for (const [k, v] of Object.entries(opts.env ?? {})) process.env[k] = v;
    if (opts.publicBaseUrlSetting) process.env[opts.publicBaseUrlSetting] = baseUrl;
    opts.register();
    registry = new Map(capturedFunctions().map((f) => [f.name, f]));
    if (registry.size === 0) throw new Error('the app registered no functions');
  } catch (e) {
    engine.stop();
    await server.close();
    redis.disconnect();
    throw e;
  }
  const resumed = await engine.resume();
  if (resumed > 0) log(`resumed ${resumed} unfinished orchestration(s) from Redis`);
  watchRedis(redis, engine, log);

  const durableClient = (): df.DurableClient => {
    const binding = df.input.durableClient();
    const context = new InvocationContext({
      functionName: 'localRuntimeClient',
      invocationId: 'local',
      options: {
        trigger: { type: 'httpTrigger', name: 'req' },
        extraInputs: [binding],
        extraOutputs: [],
      },
    });
    context.extraInputs.set(binding, clientData());
    return df.getClient(context);
  };

  return {
    baseUrl,
    keys,
    taskHub,
    durableClient,
    functions: () =>
      [...registry.values()].map((f) => ({
        name: f.name,
        trigger: f.trigger.type,
        ...(typeof f.trigger.route === 'string' ? { route: f.trigger.route } : {}),
      })),
    whenIdle: () => engine.whenIdle(),
    setTimeSkipping: (on) => engine.setTimeSkipping(on),
    resumed,
    stop: async () => {
      engine.stop();
      await server.close();
      redis.disconnect();
    },
  };
}

/**
 * Redis going away and coming back, as the log shows it: one line when it stops answering, one when it
 * answers again. On every reconnect the engine writes back the unfinished instances a Redis restarted
 * without its data no longer holds (their state is in memory), so they resume where they were.
 */
function watchRedis(redis: Redis, engine: DurableEngine, log: (line: string) => void): void {
  let down = false;
  redis.on('error', (e: Error) => {
    if (down) return;
    down = true;
    log(
      `redis unreachable (${e.message}); orchestration state is kept in memory and written when it answers`,
    );
  });
  redis.on('ready', () => {
    if (down) log('redis answers again');
    down = false;
    const restore = (attempt: number): void => {
      engine.restoreLostInstances().catch((e: unknown) => {
        if (attempt < 30) setTimeout(() => restore(attempt + 1), 1_000).unref();
        else log(`cannot check the store for lost instances: ${String(e)}`);
      });
    };
    restore(1);
  });
}
