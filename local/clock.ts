/**
 * Time source shared by the local runtime and the Container Apps emulator, so a test's virtual
 * clock moves durable timers and simulated provisioning delays together.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

type Listener = (now: number) => void;

/** A clock that only moves when told to (the local runtime skips it to the next timer when idle). */
export class VirtualClock implements Clock {
  private current: number;
  private readonly listeners = new Set<Listener>();

  constructor(start: number | string = '2026-01-01T00:00:00.000Z') {
    this.current = typeof start === 'number' ? start : Date.parse(start);
  }

  now(): number {
    return this.current;
  }

  /** Moves forward to `t` (never backwards) and tells listeners. */
  advanceTo(t: number): void {
    if (t <= this.current) return;
    this.current = t;
    for (const l of this.listeners) l(this.current);
  }

  advanceBy(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  onAdvance(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function isVirtualClock(clock: Clock): clock is VirtualClock {
  return clock instanceof VirtualClock;
}
