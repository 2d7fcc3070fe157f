// Fuzz: the policy loader on generated bad documents (seeded, bounded). Each one either loads or is
// refused with one InvalidPolicy error naming fields; nothing else is thrown, no stack trace leaks
// into the message, and the loader never hangs on a hostile document.
import fc from 'fast-check';
import { errorCode } from '../../src/domain/errors';
import { loadPolicies, parsePolicies } from '../../src/domain/policy';
import { anyJson, fuzzParams, fuzzRuns, nastyString } from './arbitraries';

const valid = {
  app: { subscriptionId: '11111111-2222-3333-4444-555555555555', resourceGroup: 'rg', name: 'web' },
  trigger: { registry: 'contoso.azurecr.io', repository: 'shop/web', tags: ['v*'] },
  allowedImages: ['contoso.azurecr.io/tools/*:v*'],
  strategy: { type: 'traffic', steps: [10, 50, 100], stepPause: 'PT1M' },
  validation: { smoke: [{ path: '/healthz' }] },
  gates: [{ name: 'errors', provider: 'prometheus', query: 'rate(x[5m])', address: 'https://p.example' }],
  approval: { required: true, timeout: 'PT2H', approvers: ['a@contoso.com'] },
};

/** Every path into the valid policy, to replace one value with garbage. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [prefix];
  const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return [prefix, ...keys.flatMap((k) => paths((v as Record<string, unknown>)[k], [...prefix, k]))];
}
const allPaths = paths(valid).filter((p) => p.length > 0);

function replaced(path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(valid) as Record<string, unknown>;
  let at: Record<string, unknown> = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
  at[path[path.length - 1] as string] = value;
  return copy;
}

const garbageValue = fc.oneof(anyJson, nastyString, fc.constantFrom('P', 'PT-1M', 'PT99999999H', -1, 1e9));

const documents = fc.oneof(
  nastyString,
  anyJson.map((v) => JSON.stringify(v) ?? ''),
  fc.tuple(fc.constantFrom(...allPaths), garbageValue).map(([p, v]) => JSON.stringify(replaced(p, v))),
  fc.tuple(fc.constantFrom(...allPaths), garbageValue).map(([p, v]) => ({
    yaml: true,
    text: `policies:\n  - ${JSON.stringify(replaced(p, v))}\n`,
  })),
  fc.constantFrom(
    '&a [*a]',
    'a: &x [*x, *x, *x]\nb: *x',
    '!!js/function "function(){}"',
    '---\n---\n---',
    '%YAML 9.9\n---\nx: 1',
    `${'['.repeat(500)}${']'.repeat(500)}`,
    'app: !!binary aGVsbG8=',
    '? [a]\n: b',
  ),
);

describe('fuzz: the policy loader', () => {
  it(`refuses ${fuzzRuns} generated bad documents with one typed error and no crash`, () => {
    let refused = 0;
    let loaded = 0;
    fc.assert(
      fc.property(documents, (doc) => {
        const text = typeof doc === 'string' ? doc : doc.text;
        try {
          parsePolicies(text, 'fuzz');
          loaded++;
        } catch (e) {
          expect(errorCode(e)).toBe('InvalidPolicy');
          const message = e instanceof Error ? e.message : String(e);
          expect(message).not.toMatch(/\n\s+at .+:\d+:\d+/);
          refused++;
        }
      }),
      fuzzParams,
    );
    process.stdout.write(
      `fuzz policies: ${refused + loaded} documents, ${refused} refused, ${loaded} loaded\n`,
    );
    expect(refused + loaded).toBeGreaterThanOrEqual(fuzzRuns);
    expect(refused).toBeGreaterThan(fuzzRuns / 2);
  });

  it('the same through GREENLIGHT_POLICIES (loadPolicies inline)', async () => {
    await fc.assert(
      fc.asyncProperty(documents, async (doc) => {
        const text = typeof doc === 'string' ? doc : doc.text;
        await loadPolicies({ inline: text }).then(
          () => undefined,
          (e: unknown) => expect(errorCode(e)).toBe('InvalidPolicy'),
        );
      }),
      { ...fuzzParams, numRuns: Math.ceil(fuzzRuns / 4) },
    );
  });
});
