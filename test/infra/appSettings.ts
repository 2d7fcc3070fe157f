/**
 * Reads which app settings the code reads, from its source text (the tests may not change src/ to export
 * them): the top-level keys of a zod object schema, and `process.env` reads.
 */

export interface SchemaKey {
  name: string;
  /** Neither `.optional()` nor a default: the app refuses to start without it. */
  required: boolean;
}

/** Skips a string, template or comment starting at `i`; returns the index after it, or `i` if none starts there. */
function skipLiteral(src: string, i: number, prevSignificant: string): number {
  const c = src[i];
  if (src.startsWith('//', i)) {
    const end = src.indexOf('\n', i);
    return end === -1 ? src.length : end;
  }
  if (src.startsWith('/*', i)) return src.indexOf('*/', i + 2) + 2;
  if (c === "'" || c === '"' || c === '`') {
    let j = i + 1;
    while (j < src.length && src[j] !== c) j += src[j] === '\\' ? 2 : 1;
    return j + 1;
  }
  // A regex literal can only follow an operator or an opening bracket, never a value.
  if (c === '/' && /[(,=:[!&|?{};]/.test(prevSignificant)) {
    let j = i + 1;
    let inClass = false;
    while (j < src.length && (inClass || src[j] !== '/')) {
      if (src[j] === '\\') j++;
      else if (src[j] === '[') inClass = true;
      else if (src[j] === ']') inClass = false;
      j++;
    }
    return j + 1;
  }
  return i;
}

/**
 * Top-level keys of `<name> = z.object({ ... })` (or z.strictObject), with whether each is required.
 * Throws when the schema is not found, so a renamed schema fails loudly instead of checking nothing.
 */
export function zodObjectKeys(src: string, name: string): SchemaKey[] {
  const start = new RegExp(`\\b${name}\\s*=\\s*z\\s*\\.\\s*(?:strict)?[oO]bject\\s*\\(\\s*\\{`).exec(src);
  if (!start) throw new Error(`no '${name} = z.object({' in the source`);
  const keys: SchemaKey[] = [];
  let depth = 1;
  let prev = '{';
  let current: { name: string; from: number } | undefined;
  const finish = (to: number) => {
    if (!current) return;
    const value = src.slice(current.from, to);
    keys.push({ name: current.name, required: !/\.(optional|default|prefault|catch)\s*\(/.test(value) });
    current = undefined;
  };
  let i = start.index + start[0].length;
  while (i < src.length && depth > 0) {
    const skipped = skipLiteral(src, i, prev);
    if (skipped !== i) {
      // A comment changes nothing; a string or regex is a value.
      if (!src.startsWith('//', i) && !src.startsWith('/*', i)) prev = 'x';
      i = skipped;
      continue;
    }
    const c = src[i]!;
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) {
      depth--;
      if (depth === 0) finish(i);
    } else if (depth === 1 && c === ',') finish(i);
    else if (depth === 1 && /[A-Za-z_$]/.test(c) && (prev === '{' || prev === ',')) {
      const m = /^([A-Za-z_$][\w$]*)\s*:/.exec(src.slice(i));
      if (m) {
        current = { name: m[1]!, from: i + m[0].length };
        i += m[0].length;
        prev = ':';
        continue;
      }
    }
    if (!/\s/.test(c)) prev = c;
    i++;
  }
  if (depth !== 0) throw new Error(`'${name}' schema does not close`);
  return keys;
}

/** Names read as `process.env.NAME` or `process.env['NAME']`. */
export function processEnvReads(src: string): string[] {
  const names = [
    ...[...src.matchAll(/process\.env\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!),
    ...[...src.matchAll(/process\.env\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\]/g)].map((m) => m[1]!),
  ];
  return [...new Set(names)];
}
