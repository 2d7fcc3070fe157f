import Module from 'node:module';

/**
 * Makes `require('@azure/functions-core')` resolve to this runtime's implementation, as the Functions
 * worker does for the app it loads. Scoped to the local runtime; under jest the same mapping is a
 * `moduleNameMapper` entry.
 */
const target = require.resolve('./functionsCore');
type Resolve = (request: string, ...rest: unknown[]) => string;
const internal = Module as unknown as { _resolveFilename: Resolve };

let installed = false;
export function provideFunctionsCore(): void {
  if (installed) return;
  installed = true;
  const original = internal._resolveFilename;
  internal._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
    if (request === '@azure/functions-core') return target;
    return original.call(this, request, ...rest);
  };
}
