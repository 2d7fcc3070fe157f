import { Socket } from 'node:net';
import {
  type AgentOptions,
  LogProcessor,
  mockSink,
  mockStream,
  SequencedAppender,
  WorkloadAgent,
} from '../../../src/agent';
import type { Frame } from './source';

/** How a simulated revision misbehaves (from its image tag, see images.ts). */
export interface TcpFaults {
  /** Loses every 10th frame before it is buffered, so its output has holes. */
  drops?: boolean;
  /** Writes records without `receivedAt`. */
  malformed?: boolean;
  /** Never takes a lease, so it never processes. */
  nolease?: boolean;
  /**
   * Stalls this long after it first processes production: stays alive, keeps its lease and heartbeat,
   * but receives nothing more (a producer stuck on a dead connection or a deadlock).
   */
  stallAfterMs?: number;
}

/** How long a `stall` image writes production before it stalls: long enough for the flip to be confirmed. */
export const defaultStallAfterMs = 2_000;

export interface TcpWorkerOptions {
  /** App key (`appKey()`). */
  app: string;
  revision: string;
  replica?: string;
  source: { host: string; port: number };
  prodUrl: string;
  tempUrl: string;
  keyPrefix: string;
  faults?: TcpFaults;
  /** Agent timings, logger, ioredis options. */
  agent?: Omit<AgentOptions, 'app' | 'revision' | 'replica' | 'keyPrefix' | 'prodUrl' | 'tempUrl' | 'env'>;
  /** Frames each receiver keeps for a takeover; default 100 000. */
  bufferCapacity?: number;
}

/** Consumer group of the processor on the receiver's stream. */
export const processorGroup = 'processor';

/**
 * One replica of a receiver + processor workload built on the agent: the receiver reads frames from
 * the TCP source and appends them to the log `stream`, the processor moves them through the consumer
 * group `processor` to the log `sink`. The agent decides where both write (mock or production) and when.
 */
export class TcpWorker {
  readonly agent: WorkloadAgent;
  private readonly appender: SequencedAppender;
  private readonly processor: LogProcessor;
  private socket: Socket | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** When this replica first saw itself in production (for `stallAfterMs`). */
  private prodSince: number | undefined;
  framesReceived = 0;
  /** Frames a stalled replica let go by. */
  framesIgnored = 0;

  constructor(private readonly options: TcpWorkerOptions) {
    const faults = options.faults ?? {};
    // Configured through the environment, as a container would be.
    this.agent = new WorkloadAgent({
      ...options.agent,
      env: {
        GREENLIGHT_APP_KEY: options.app,
        CONTAINER_APP_REVISION: options.revision,
        ...(options.replica ? { CONTAINER_APP_REPLICA_NAME: options.replica } : {}),
        GREENLIGHT_REDIS_KEY_PREFIX: options.keyPrefix,
        PROD_REDIS_URL: options.prodUrl,
        TEMP_REDIS_URL: options.tempUrl,
      },
      holdLease: !faults.nolease,
    });
    this.appender = new SequencedAppender(this.agent, mockStream, {
      ...(options.bufferCapacity ? { capacity: options.bufferCapacity } : {}),
    });
    this.processor = new LogProcessor(this.agent, {
      from: mockStream,
      to: mockSink,
      group: processorGroup,
      transform: ({ epoch: _epoch, revision: _revision, ...record }) => ({
        ...record,
        processedAt: new Date().toISOString(),
      }),
    });
  }

  get revision(): string {
    return this.options.revision;
  }

  async start(): Promise<this> {
    await this.agent.start();
    this.connect();
    this.processor.start();
    return this;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.socket?.destroy();
    this.appender.close();
    await this.processor.stop();
    await this.agent.stop();
  }

  private connect(): void {
    if (this.stopped) return;
    const socket = new Socket();
    this.socket = socket;
    let pending = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        this.receive(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    socket.on('error', () => undefined);
    // The source went away: keep trying, frames sent meanwhile are lost to this replica only.
    socket.on('close', () => {
      if (this.stopped) return;
      this.reconnectTimer = setTimeout(() => this.connect(), 100);
    });
    socket.connect(this.options.source.port, this.options.source.host);
  }

  private receive(line: string): void {
    let frame: Frame;
    try {
      frame = JSON.parse(line) as Frame;
    } catch {
      this.agent.countError();
      return;
    }
    if (!Number.isSafeInteger(frame.frameId)) {
      this.agent.countError();
      return;
    }
    this.framesReceived += 1;
    const faults = this.options.faults ?? {};
    if (faults.drops && frame.frameId % 10 === 0) return;
    if (faults.stallAfterMs !== undefined && this.agent.mode === 'prod') {
      this.prodSince ??= Date.now();
      if (Date.now() - this.prodSince >= faults.stallAfterMs) {
        this.framesIgnored += 1;
        return;
      }
    }
    this.appender.push(frame.frameId, {
      frameId: String(frame.frameId),
      ...(faults.malformed ? {} : { receivedAt: new Date().toISOString() }),
      payload: frame.payload,
    });
  }
}
