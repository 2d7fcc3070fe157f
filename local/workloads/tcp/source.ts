import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { advanceSourcePosition } from '../../../src/protocol/sourcePosition';

export interface TcpFrameSourceOptions {
  /** Time between frames; default 10 ms. */
  frameIntervalMs?: number;
  /** Frames per interval; default 1. */
  framesPerTick?: number;
  /** Payload length in characters; default 32. */
  payloadBytes?: number;
  /** Start emitting on listen; default true. `false` waits for `play()` (e.g. until receivers connect). */
  autoPlay?: boolean;
  /** Id of the first frame; default 1. */
  firstFrameId?: number;
  /**
   * Publishes the id of the newest frame sent to this key (the protocol's `sourceKey`), as a source that
   * can reach the workload's Redis would: the watch measures production's lag behind it.
   */
  position?: { redis: Redis; key: string };
}

/** One frame on the wire: newline-delimited JSON. */
export interface Frame {
  frameId: number;
  payload: string;
}

/**
 * A simulated always-on TCP source: a server on 127.0.0.1 that sends numbered frames (one JSON object
 * per line) to every connected client, as a feed that broadcasts to all subscribers does.
 */
export class TcpFrameSource {
  private server: Server | undefined;
  private readonly clients = new Set<Socket>();
  private timer: NodeJS.Timeout | undefined;
  private lastFrameId = 0;
  private readonly frameIntervalMs: number;
  private readonly framesPerTick: number;
  private readonly payloadBytes: number;
  private readonly autoPlay: boolean;
  private readonly position: TcpFrameSourceOptions['position'];
  /** A publish in flight: the next tick publishes the newest id then (one at a time, never backwards). */
  private publishing = false;
  host = '127.0.0.1';
  port = 0;

  constructor(options: TcpFrameSourceOptions = {}) {
    this.frameIntervalMs = options.frameIntervalMs ?? 10;
    this.framesPerTick = options.framesPerTick ?? 1;
    this.payloadBytes = options.payloadBytes ?? 32;
    this.autoPlay = options.autoPlay ?? true;
    this.lastFrameId = (options.firstFrameId ?? 1) - 1;
    this.position = options.position;
  }

  /** Listens on 127.0.0.1 (port 0: any free one) and, unless `autoPlay: false`, starts emitting. */
  async listen(port = 0): Promise<{ host: string; port: number }> {
    if (this.server) return { host: this.host, port: this.port };
    const server = createServer((socket) => {
      socket.setNoDelay(true);
      this.clients.add(socket);
      const forget = (): void => void this.clients.delete(socket);
      socket.on('close', forget);
      socket.on('error', forget);
      // Clients only listen; whatever they send is ignored.
      socket.resume();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    if (this.autoPlay) this.play();
    return { host: this.host, port: this.port };
  }

  play(): void {
    if (this.timer || !this.server) return;
    this.timer = setInterval(() => {
      for (let i = 0; i < this.framesPerTick; i++) this.emit();
      this.publish();
    }, this.frameIntervalMs);
  }

  /** Stops emitting (connections stay open); `emitted` is then the last frame id sent. */
  pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get emitted(): number {
    return this.lastFrameId;
  }

  get connected(): number {
    return this.clients.size;
  }

  /** Drops every connection (clients reconnect), as a source restart would. */
  disconnectAll(): void {
    for (const c of this.clients) c.destroy();
    this.clients.clear();
  }

  async close(): Promise<void> {
    this.pause();
    const server = this.server;
    this.server = undefined;
    this.disconnectAll();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private publish(): void {
    const position = this.position;
    if (!position || this.publishing) return;
    this.publishing = true;
    advanceSourcePosition(position.redis, position.key, this.lastFrameId)
      // A lost publish is made good by the next tick's.
      .catch(() => undefined)
      .finally(() => (this.publishing = false));
  }

  private emit(): void {
    const frameId = ++this.lastFrameId;
    const frame: Frame = { frameId, payload: payloadOf(frameId, this.payloadBytes) };
    const line = `${JSON.stringify(frame)}\n`;
    for (const c of this.clients) if (c.writable) c.write(line);
  }
}

/** A payload that can be checked later (derived from the frame id). */
export function payloadOf(frameId: number, length: number): string {
  const unit = `f${frameId.toString(36)}.`;
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}
