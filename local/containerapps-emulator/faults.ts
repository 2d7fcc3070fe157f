/**
 * Fault injection: switches that make the next N ARM requests (optionally only those matching a method and a
 * path pattern) fail the way ARM fails, or make the next long-running operations or provisionings misbehave.
 */
interface RequestMatch {
  /** How many requests (or operations) the fault applies to; default 1. */
  count?: number;
  /** HTTP method to match (case-insensitive); any when omitted. */
  method?: string;
  /** Regular expression tested against the URL path (no query); any when omitted. */
  path?: string;
}

export interface ThrottleFault extends RequestMatch {
  kind: 'throttle';
  /** `Retry-After` in seconds (ARM's unit); default 1. */
  retryAfterSeconds?: number;
  /** Also send `retry-after-ms`, which Azure SDK clients prefer: keeps tests fast. */
  retryAfterMs?: number;
}

export interface ServerErrorFault extends RequestMatch {
  kind: 'serverError';
  /** Default 500. */
  status?: number;
  code?: string;
  message?: string;
}

export interface DropConnectionFault extends RequestMatch {
  kind: 'dropConnection';
}

export interface SlowLroFault {
  kind: 'slowLro';
  /** How many operations; default 1. */
  count?: number;
  /** Status polls that answer InProgress before the operation may finish. */
  polls: number;
}

export interface FailProvisioningFault {
  kind: 'failProvisioning';
  /** How many new revisions; default 1. */
  count?: number;
  /** The revision's provisioningError; the operation fails with it too. */
  message?: string;
}

export type FaultSpec =
  ThrottleFault | ServerErrorFault | DropConnectionFault | SlowLroFault | FailProvisioningFault;
export type FaultKind = FaultSpec['kind'];
export type RequestFault = ThrottleFault | ServerErrorFault | DropConnectionFault;

export interface ActiveFault {
  id: number;
  spec: FaultSpec;
  remaining: number;
}

const faultKinds: readonly FaultKind[] = [
  'throttle',
  'serverError',
  'dropConnection',
  'slowLro',
  'failProvisioning',
];

/** Checks a fault from the admin endpoint; returns the problem or undefined. */
export function faultSpecProblem(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return 'fault must be a JSON object';
  const f = input as Record<string, unknown>;
  if (!faultKinds.includes(f.kind as FaultKind)) {
    return `kind must be one of ${faultKinds.join(', ')}; got ${JSON.stringify(f.kind)}`;
  }
  if (f.count !== undefined && (!Number.isInteger(f.count) || (f.count as number) < 1)) {
    return `count must be a whole number >= 1; got ${JSON.stringify(f.count)}`;
  }
  if (f.path !== undefined) {
    if (typeof f.path !== 'string') return 'path must be a regular expression string';
    try {
      new RegExp(f.path);
    } catch (e) {
      return `path is not a valid regular expression: ${(e as Error).message}`;
    }
  }
  if (f.kind === 'slowLro' && (!Number.isInteger(f.polls) || (f.polls as number) < 1)) {
    return `polls must be a whole number >= 1 for slowLro; got ${JSON.stringify(f.polls)}`;
  }
  return undefined;
}

export class FaultInjector {
  private next = 1;
  private active: ActiveFault[] = [];

  add(spec: FaultSpec): ActiveFault {
    const problem = faultSpecProblem(spec);
    if (problem) throw new Error(`invalid fault: ${problem}`);
    const fault = { id: this.next++, spec, remaining: spec.count ?? 1 };
    this.active.push(fault);
    return fault;
  }

  throttle(opts: Omit<ThrottleFault, 'kind'> = {}): ActiveFault {
    return this.add({ kind: 'throttle', ...opts });
  }

  serverError(opts: Omit<ServerErrorFault, 'kind'> = {}): ActiveFault {
    return this.add({ kind: 'serverError', ...opts });
  }

  dropConnection(opts: Omit<DropConnectionFault, 'kind'> = {}): ActiveFault {
    return this.add({ kind: 'dropConnection', ...opts });
  }

  slowLro(opts: Omit<SlowLroFault, 'kind'>): ActiveFault {
    return this.add({ kind: 'slowLro', ...opts });
  }

  failProvisioning(opts: Omit<FailProvisioningFault, 'kind'> = {}): ActiveFault {
    return this.add({ kind: 'failProvisioning', ...opts });
  }

  clear(): void {
    this.active = [];
  }

  list(): ActiveFault[] {
    return this.active.map((f) => ({ ...f }));
  }

  /** The request fault to apply to this ARM request, consuming one use of it. */
  takeRequestFault(method: string, path: string): RequestFault | undefined {
    for (const f of this.active) {
      const s = f.spec;
      if (s.kind !== 'throttle' && s.kind !== 'serverError' && s.kind !== 'dropConnection') continue;
      if (s.method && s.method.toUpperCase() !== method.toUpperCase()) continue;
      if (s.path && !new RegExp(s.path).test(path)) continue;
      this.consume(f);
      return s;
    }
    return undefined;
  }

  /** Extra InProgress polls for a new long-running operation. */
  takeLroDelay(): number {
    const f = this.active.find((a) => a.spec.kind === 'slowLro');
    if (!f || f.spec.kind !== 'slowLro') return 0;
    this.consume(f);
    return f.spec.polls;
  }

  /** The provisioning error for a new revision, when one is switched on. */
  takeProvisioningFailure(): string | undefined {
    const f = this.active.find((a) => a.spec.kind === 'failProvisioning');
    if (!f || f.spec.kind !== 'failProvisioning') return undefined;
    this.consume(f);
    return f.spec.message ?? 'provisioning failed: container exited with code 1 (injected fault)';
  }

  private consume(f: ActiveFault): void {
    f.remaining -= 1;
    if (f.remaining <= 0) this.active = this.active.filter((a) => a !== f);
  }
}
