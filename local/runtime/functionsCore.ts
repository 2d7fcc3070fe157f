import { randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
/**
 * The `@azure/functions-core` module the Functions Node.js worker gives `@azure/functions`. The local
 * runtime provides it (by module resolution, see `hook.ts`) so the production entrypoint registers its
 * functions here unchanged; nothing under `src/` knows which host loaded it.
 */

export interface BindingInfo {
  type: string;
  direction?: 'in' | 'out' | 'inout';
  name?: string;
  [key: string]: unknown;
}

export interface FunctionMetadata {
  name: string;
  bindings: Record<string, BindingInfo>;
  retryOptions?: unknown;
}

export type FunctionCallback = (...args: unknown[]) => unknown;

export interface CapturedFunction {
  name: string;
  bindings: Record<string, BindingInfo>;
  trigger: BindingInfo & { name: string };
  callback: FunctionCallback;
}

export interface Disposable {
  dispose(): void;
}

const registrations = new Map<string, CapturedFunction>();

export function registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): Disposable {
  if (registrations.has(metadata.name)) {
    throw new Error(
      `A function named '${metadata.name}' is already registered; function names must be unique`,
    );
  }
  const entry = Object.entries(metadata.bindings).find(
    ([, b]) => b.direction === 'in' && /Trigger$/.test(b.type),
  );
  if (!entry) throw new Error(`function '${metadata.name}' has no trigger binding`);
  const [triggerName, trigger] = entry;
  registrations.set(metadata.name, {
    name: metadata.name,
    bindings: metadata.bindings,
    trigger: { ...trigger, name: triggerName },
    callback,
  });
  return { dispose: () => registrations.delete(metadata.name) };
}

// The worker keeps the programming model to convert RPC payloads; the local runtime builds the
// `HttpRequest`/`InvocationContext` objects directly, so it only needs to accept it.
export function setProgrammingModel(_model: unknown): void {}

/** App hooks (appStart, preInvocation, ...) would silently not run here: refuse them, naming the hook. */
export function registerHook(name: string): Disposable {
  throw new Error(
    `the local runtime does not run app hooks: '${name}' was registered; run this app under the Functions host, or drop the hook`,
  );
}

/** The library's own logs (warnings about the programming model) go nowhere locally, as on a quiet host. */
export function log(_level: string, _category: string, _message: string): void {}

/** Runtime side: everything registered so far. */
export function capturedFunctions(): CapturedFunction[] {
  return [...registrations.values()];
}

/**
 * The `InvocationContext` the host would pass: the function's trigger and input bindings, durable
 * client inputs filled with this runtime's client data, and its log calls sent to `log`.
 */
export function invocationContextFor(
  fn: CapturedFunction,
  clientData: () => unknown,
  log: (level: string, text: string) => void,
): InvocationContext {
  const inputs = Object.entries(fn.bindings)
    .filter(([, b]) => b.direction === 'in' && !/Trigger$/.test(b.type))
    .map(([name, b]) => ({ ...b, name }));
  const context = new InvocationContext({
    functionName: fn.name,
    invocationId: randomUUID(),
    logHandler: (level, ...args) => log(level, args.map(String).join(' ')),
    options: { trigger: fn.trigger, extraInputs: inputs, extraOutputs: [] },
  });
  for (const b of inputs) {
    if (b.type === 'durableClient' || b.type === 'orchestrationClient')
      context.extraInputs.set(b.name, clientData());
  }
  return context;
}
