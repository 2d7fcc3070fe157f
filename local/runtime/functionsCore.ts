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
const hooks = new Map<string, Set<(...args: unknown[]) => unknown>>();

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
let programmingModel: unknown;
export function setProgrammingModel(model: unknown): void {
  programmingModel = model;
}
export function getProgrammingModel(): unknown {
  return programmingModel;
}

export function registerHook(name: string, callback: (...args: unknown[]) => unknown): Disposable {
  const set = hooks.get(name) ?? new Set();
  set.add(callback);
  hooks.set(name, set);
  return { dispose: () => set.delete(callback) };
}

let systemLog: (level: string, message: string) => void = () => undefined;
export function log(level: string, category: string, message: string): void {
  if (category === 'system') systemLog(level, message);
}

/** Runtime side: everything registered so far. */
export function capturedFunctions(): CapturedFunction[] {
  return [...registrations.values()];
}

export function onSystemLog(handler: (level: string, message: string) => void): void {
  systemLog = handler;
}

export function hookCallbacks(name: string): ((...args: unknown[]) => unknown)[] {
  return [...(hooks.get(name) ?? [])];
}
