// Generators of bad input for the fuzz suites: each yields things a careless or hostile caller sends.
import fc from 'fast-check';

/** One seed for the whole suite, so a failure replays exactly (override with FUZZ_SEED to explore). */
export const fuzzSeed = Number(process.env.FUZZ_SEED ?? 20261203);
/** Inputs per surface. */
export const fuzzRuns = Number(process.env.FUZZ_RUNS ?? 1000);

export const fuzzParams = { seed: fuzzSeed, numRuns: fuzzRuns, endOnFailure: true } as const;

/** Text with the characters parsers trip on: quotes, percent signs, slashes, control and astral chars. */
export const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '%',
    '%25',
    '%zz',
    '../../etc/passwd',
    '__proto__',
    'constructor',
    'null',
    '{}',
    '[]',
    '\u0000',
    '\uffff',
    '😀',
    'a'.repeat(300),
    '<script>alert(1)</script>',
    "'; DROP TABLE x; --",
    '${process.env}',
    'NaN',
    '-1',
    '1e309',
  ),
);

/** Any JSON value, including deep and odd ones. */
export const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, 0, -0, 1e308, '', [], {}, [[[]]], { __proto__: { polluted: true } }),
);

/** A request body as it crosses the wire: JSON of anything, or text that is not JSON at all. */
export const anyBody = fc.oneof(
  anyJson.map((v) => JSON.stringify(v) ?? ''),
  nastyString,
  fc.constantFrom('{', '{"app":', '[1,2', '\u0000\u0001', 'null', '"x"', '{"a":1}{"b":2}'),
);

/** Registries and repositories a policy for `app` in `registry`/`repoPrefix` does not allow. */
export const foreignImage = fc
  .tuple(
    fc.constantFrom(
      'evil.example.com',
      'docker.io',
      'localhost:5000',
      'ghcr.io',
      '127.0.0.1:5000',
      'contoso.azurecr.io',
    ),
    fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+)?$/),
    fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/),
  )
  .map(([r, repo, tag]) => `${r}/${repo}:${tag}`);

/** Strings that are not image references Greenlight deploys. */
export const malformedImage = fc.oneof(
  nastyString,
  fc.constantFrom(
    'web',
    'web:v2',
    'contoso.azurecr.io/web',
    'Contoso.azurecr.io/Web:v1',
    'contoso.azurecr.io/web:',
    'contoso.azurecr.io/web@sha256:xyz',
    'contoso.azurecr.io//web:v1',
    'https://contoso.azurecr.io/web:v1',
  ),
);

export const badDigest = fc.oneof(
  nastyString,
  fc.constantFrom('sha256:', 'sha256:xyz', `sha256:${'A'.repeat(64)}`, `sha512:${'a'.repeat(128)}`),
  fc.stringMatching(/^sha256:[0-9a-f]{1,63}$/),
);

/** Ids no instance has: odd characters, long, encoded, near-misses of real ones. */
export function unknownId(existing: string[]): fc.Arbitrary<string> {
  return fc
    .oneof(
      nastyString,
      fc.stringMatching(/^[a-z0-9-]{1,120}$/),
      fc.constantFrom(...existing).map((id) => `${id}x`),
      fc.constantFrom(...existing).map((id) => `x${id}`),
    )
    .filter((id) => !existing.includes(id));
}

/** A path segment as a client would put it in a URL: usually encoded, sometimes raw. */
export function segment(text: string, raw: boolean): string {
  return raw ? text.replace(/[/?#\s]/g, '_') : encodeURIComponent(text);
}
