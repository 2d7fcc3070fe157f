/** One answered request, as the monitoring emulators see it. */
export interface RequestRecord {
  /** Wall-clock time of the answer (ms since the epoch): gate windows end at the real "now". */
  at: number;
  status: number;
  latencyMs: number;
}

/**
 * A revision's most recent answers, oldest overwritten first once `capacity` is reached: an emulator left
 * running for days keeps a fixed footprint, and windows reaching past the oldest record read what is left.
 */
export class RequestLog {
  private readonly at: Float64Array;
  private readonly status: Uint16Array;
  private readonly latency: Float32Array;
  private next = 0;
  private size = 0;

  constructor(readonly capacity = 50_000) {
    this.at = new Float64Array(capacity);
    this.status = new Uint16Array(capacity);
    this.latency = new Float32Array(capacity);
  }

  get length(): number {
    return this.size;
  }

  record(r: RequestRecord): void {
    this.at[this.next] = r.at;
    this.status[this.next] = r.status;
    this.latency[this.next] = r.latencyMs;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size += 1;
  }

  /** Records with `from < at <= to`, oldest first. */
  between(from: number, to: number): RequestRecord[] {
    const out: RequestRecord[] = [];
    const first = (this.next - this.size + this.capacity) % this.capacity;
    for (let k = 0; k < this.size; k++) {
      const i = (first + k) % this.capacity;
      const at = this.at[i]!;
      if (at > from && at <= to) out.push({ at, status: this.status[i]!, latencyMs: this.latency[i]! });
    }
    return out;
  }
}

/** Times of a revision's restarts, bounded like the request log. */
export class EventTimes {
  private readonly times: number[] = [];

  constructor(private readonly capacity = 1000) {}

  record(at: number): void {
    this.times.push(at);
    if (this.times.length > this.capacity) this.times.shift();
  }

  between(from: number, to: number): number[] {
    return this.times.filter((t) => t > from && t <= to);
  }
}
