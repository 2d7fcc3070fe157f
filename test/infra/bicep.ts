import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * A small Bicep reader, enough for the templates in infra/: top-level declarations (param, var, resource,
 * module, output, targetScope), their decorators and comments, and every identifier an expression
 * references. No Bicep compiler can be installed where the tests run, so this is what checks the
 * templates' structure; it reports what it cannot read instead of guessing.
 */

export type TokenKind = 'ident' | 'string' | 'number' | 'punct' | 'newline';

export interface Token {
  kind: TokenKind;
  value: string;
  line: number;
  /** Offsets in the source text. */
  start: number;
  end: number;
}

export interface Comment {
  line: number;
  text: string;
  /** True when nothing but the comment is on its line. */
  fullLine: boolean;
}

export interface Statement {
  keyword: 'param' | 'var' | 'resource' | 'module' | 'output' | 'targetScope' | 'other';
  /** Declared name or symbol ('' for targetScope). */
  name: string;
  line: number;
  /** Decorator source texts, e.g. `@secure()`. */
  decorators: string[];
  /** Tokens of the declaration without its decorators. */
  tokens: Token[];
  /** Source text of the declaration without its decorators. */
  text: string;
}

export interface Param extends Statement {
  type: string;
  hasDefault: boolean;
  secure: boolean;
}

export interface Resource extends Statement {
  /** e.g. Microsoft.Web/sites */
  type: string;
  apiVersion: string;
  existing: boolean;
}

export interface Module extends Statement {
  path: string;
  /** Names under `params: { ... }`. */
  params: string[];
}

export interface BicepFile {
  path: string;
  text: string;
  targetScope: string;
  params: Param[];
  vars: Statement[];
  resources: Resource[];
  modules: Module[];
  outputs: Statement[];
  comments: Comment[];
  /** Identifiers read by expressions, with the line of each read. */
  references: { name: string; line: number }[];
  /** Lambda and loop variables. */
  locals: Set<string>;
  /** What could not be read: unbalanced brackets, unterminated strings, unknown statements. */
  problems: string[];
}

const keywords = new Set(['true', 'false', 'null', 'if', 'for', 'in', 'existing']);
/** Namespaces that qualify built-in functions, e.g. az.resourceGroup(). */
const namespaces = new Set(['az', 'sys']);
const multiCharPunct = ['=>', '==', '!=', '>=', '<=', '&&', '||', '??', '.?', '::'];
const openers: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

class Scanner {
  readonly tokens: Token[] = [];
  readonly comments: Comment[] = [];
  readonly problems: string[] = [];
  private pos = 0;
  private line = 1;
  private lineHasToken = false;

  constructor(private readonly text: string) {}

  run(): void {
    this.scan(false);
  }

  private push(kind: TokenKind, value: string, start: number): void {
    this.tokens.push({ kind, value, line: this.line, start, end: this.pos });
    if (kind !== 'newline') this.lineHasToken = true;
  }

  /** Scans tokens; inside an interpolation it stops at the `}` that closes it. */
  private scan(inInterpolation: boolean): void {
    const t = this.text;
    let depth = 0;
    while (this.pos < t.length) {
      const c = t[this.pos]!;
      const start = this.pos;
      if (c === '\n') {
        this.pos++;
        this.push('newline', '\n', start);
        this.line++;
        this.lineHasToken = false;
      } else if (c === ' ' || c === '\t' || c === '\r') {
        this.pos++;
      } else if (t.startsWith('//', this.pos)) {
        const end = t.indexOf('\n', this.pos);
        const stop = end === -1 ? t.length : end;
        this.comments.push({
          line: this.line,
          text: t.slice(this.pos + 2, stop).trim(),
          fullLine: !this.lineHasToken,
        });
        this.pos = stop;
      } else if (t.startsWith('/*', this.pos)) {
        const end = t.indexOf('*/', this.pos + 2);
        if (end === -1) {
          this.problems.push(`line ${this.line}: unterminated /* comment`);
          this.pos = t.length;
          return;
        }
        this.line += (t.slice(this.pos, end).match(/\n/g) ?? []).length;
        this.pos = end + 2;
      } else if (t.startsWith("'''", this.pos)) {
        const end = t.indexOf("'''", this.pos + 3);
        if (end === -1) {
          this.problems.push(`line ${this.line}: unterminated ''' string`);
          this.pos = t.length;
          return;
        }
        const startLine = this.line;
        this.pos = end + 3;
        this.tokens.push({
          kind: 'string',
          value: t.slice(start + 3, end),
          line: startLine,
          start,
          end: this.pos,
        });
        this.lineHasToken = true;
        this.line += (t.slice(start, end).match(/\n/g) ?? []).length;
      } else if (c === "'") {
        this.scanString();
      } else if (/[A-Za-z_]/.test(c)) {
        while (this.pos < t.length && /[A-Za-z0-9_]/.test(t[this.pos]!)) this.pos++;
        this.push('ident', t.slice(start, this.pos), start);
      } else if (/[0-9]/.test(c)) {
        while (this.pos < t.length && /[0-9]/.test(t[this.pos]!)) this.pos++;
        this.push('number', t.slice(start, this.pos), start);
      } else {
        const op = multiCharPunct.find((p) => t.startsWith(p, this.pos)) ?? c;
        if (inInterpolation && op === '}' && depth === 0) {
          this.pos++;
          return;
        }
        if (op === '{') depth++;
        if (op === '}') depth--;
        this.pos += op.length;
        this.push('punct', op, start);
      }
    }
    if (inInterpolation) this.problems.push(`line ${this.line}: unterminated \${ interpolation`);
  }

  /** A '...' string: its text becomes one token, its interpolations' tokens follow it. */
  private scanString(): void {
    const t = this.text;
    const start = this.pos;
    const startLine = this.line;
    this.pos++;
    let value = '';
    const inner: Token[] = [];
    while (this.pos < t.length) {
      const c = t[this.pos]!;
      if (c === '\\') {
        value += t.slice(this.pos, this.pos + 2);
        this.pos += 2;
      } else if (c === "'") {
        this.pos++;
        this.tokens.push({ kind: 'string', value, line: startLine, start, end: this.pos });
        this.tokens.push(...inner);
        this.lineHasToken = true;
        return;
      } else if (c === '\n') {
        break;
      } else if (t.startsWith('${', this.pos)) {
        this.pos += 2;
        const before = this.tokens.length;
        this.scan(true);
        inner.push(...this.tokens.splice(before));
        value += '${…}';
      } else {
        value += c;
        this.pos++;
      }
    }
    this.problems.push(`line ${startLine}: unterminated string`);
  }
}

export function tokenize(text: string): { tokens: Token[]; comments: Comment[]; problems: string[] } {
  const s = new Scanner(text);
  s.run();
  return { tokens: s.tokens, comments: s.comments, problems: s.problems };
}

/** Splits tokens into top-level statements (a newline outside brackets ends one). */
function statements(tokens: Token[], problems: string[]): Token[][] {
  const out: Token[][] = [];
  let current: Token[] = [];
  const stack: { close: string; line: number }[] = [];
  for (const tok of tokens) {
    if (tok.kind === 'punct' && openers[tok.value])
      stack.push({ close: openers[tok.value]!, line: tok.line });
    else if (tok.kind === 'punct' && [')', ']', '}'].includes(tok.value)) {
      const open = stack.pop();
      if (!open || open.close !== tok.value) {
        problems.push(`line ${tok.line}: unexpected '${tok.value}'`);
        if (open) stack.push(open);
      }
    }
    if (tok.kind === 'newline' && stack.length === 0) {
      if (current.length) out.push(current);
      current = [];
    } else if (tok.kind !== 'newline' || current.length) {
      current.push(tok);
    }
  }
  for (const open of stack) problems.push(`line ${open.line}: '${open.close}' never closes what opens here`);
  if (current.length) out.push(current);
  return out;
}

/** Keys of the object literal whose `{` is at `open`: an identifier or string first on its line or after `{`/`,`, followed by `:`. */
export function objectKeys(
  tokens: Token[],
  open: number,
  anyDepth = false,
): { key: string; index: number; colon: number }[] {
  const keys: { key: string; index: number; colon: number }[] = [];
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const tok = tokens[i]!;
    if (tok.kind === 'punct' && openers[tok.value]) depth++;
    else if (tok.kind === 'punct' && [')', ']', '}'].includes(tok.value)) {
      depth--;
      if (depth === 0) break;
    }
    const prev = tokens[i - 1];
    // An interpolated key string is followed by its interpolation's tokens, then the colon.
    let after = i + 1;
    while (tokens[after] && tokens[after]!.start < tok.end) after++;
    const next = tokens[after];
    const atKeyPosition =
      prev !== undefined &&
      (prev.kind === 'newline' || (prev.kind === 'punct' && (prev.value === '{' || prev.value === ',')));
    if (
      (anyDepth || depth === 1) &&
      (tok.kind === 'ident' || tok.kind === 'string') &&
      atKeyPosition &&
      next?.kind === 'punct' &&
      next.value === ':'
    ) {
      keys.push({ key: tok.value, index: i, colon: after });
    }
  }
  return keys;
}

function findIndex(tokens: Token[], from: number, pred: (t: Token) => boolean): number {
  for (let i = from; i < tokens.length; i++) if (pred(tokens[i]!)) return i;
  return -1;
}

/** Identifiers read from `from` on: not object keys, property names, function names or keywords. */
function collectReferences(stmt: Token[], from: number, locals: Set<string>) {
  const refs: { name: string; line: number }[] = [];
  const keyIndexes = new Set<number>();
  stmt.forEach((t, i) => {
    if (t.kind === 'punct' && t.value === '{') objectKeys(stmt, i).forEach((k) => keyIndexes.add(k.index));
  });
  // Lambda parameters (`x => ...`, `(x, y) => ...`) and loop variables (`for x in`, `for (x, i) in`).
  stmt.forEach((t, i) => {
    if (t.kind === 'punct' && t.value === '=>') {
      let j = i - 1;
      if (stmt[j]?.value === ')') {
        while (j >= 0 && stmt[j]!.value !== '(') {
          if (stmt[j]!.kind === 'ident') locals.add(stmt[j]!.value);
          j--;
        }
      } else if (stmt[j]?.kind === 'ident') locals.add(stmt[j]!.value);
    }
    if (t.kind === 'ident' && t.value === 'for') {
      const inAt = findIndex(stmt, i + 1, (x) => x.kind === 'ident' && x.value === 'in');
      for (let j = i + 1; j < inAt; j++) if (stmt[j]!.kind === 'ident') locals.add(stmt[j]!.value);
    }
  });
  for (let i = from; i < stmt.length; i++) {
    const t = stmt[i]!;
    if (t.kind !== 'ident' || keywords.has(t.value) || keyIndexes.has(i)) continue;
    const prev = stmt[i - 1];
    const next = stmt[i + 1];
    if (prev?.kind === 'punct' && (prev.value === '.' || prev.value === '.?' || prev.value === '@')) continue;
    if (next?.kind === 'punct' && next.value === '(') continue;
    if (namespaces.has(t.value) && next?.value === '.') continue;
    refs.push({ name: t.value, line: t.line });
  }
  return refs;
}

export function parseBicep(text: string, path = '<inline>'): BicepFile {
  const { tokens, comments, problems } = tokenize(text);
  const file: BicepFile = {
    path,
    text,
    targetScope: 'resourceGroup',
    params: [],
    vars: [],
    resources: [],
    modules: [],
    outputs: [],
    comments,
    references: [],
    locals: new Set(),
    problems,
  };
  let decorators: string[] = [];
  for (const stmt of statements(tokens, problems)) {
    const first = stmt[0]!;
    const src = text.slice(first.start, Math.max(...stmt.map((t) => t.end)));
    if (first.value === '@') {
      decorators.push(src);
      continue;
    }
    const base = { line: first.line, decorators, tokens: stmt, text: src };
    decorators = [];
    const name = stmt[1]?.kind === 'ident' ? stmt[1].value : '';
    const eq = findIndex(stmt, 0, (t) => t.kind === 'punct' && t.value === '=');
    const body = eq === -1 ? stmt.length : eq + 1;
    switch (first.value) {
      case 'targetScope': {
        file.targetScope = stmt[2]?.value ?? '';
        continue;
      }
      case 'param': {
        const typeEnd = eq === -1 ? stmt.length : eq;
        file.params.push({
          ...base,
          keyword: 'param',
          name,
          type: stmt
            .slice(2, typeEnd)
            .map((t) => t.value)
            .join(''),
          hasDefault: eq !== -1,
          secure: base.decorators.some((d) => /^@(sys\.)?secure\(/.test(d)),
        });
        break;
      }
      case 'var':
        file.vars.push({ ...base, keyword: 'var', name });
        break;
      case 'output':
        file.outputs.push({ ...base, keyword: 'output', name });
        break;
      case 'resource': {
        const decl = stmt[2]?.kind === 'string' ? stmt[2].value : '';
        const [type = '', apiVersion = ''] = decl.split('@');
        if (!decl.includes('@')) problems.push(`line ${first.line}: resource ${name} has no '@apiVersion'`);
        file.resources.push({
          ...base,
          keyword: 'resource',
          name,
          type,
          apiVersion,
          existing: stmt[3]?.value === 'existing',
        });
        break;
      }
      case 'module': {
        const paramsAt = findIndex(
          stmt,
          body,
          (t) => t.kind === 'ident' && t.value === 'params' && stmt[stmt.indexOf(t) + 1]?.value === ':',
        );
        const open = paramsAt === -1 ? -1 : paramsAt + 2;
        file.modules.push({
          ...base,
          keyword: 'module',
          name,
          path: stmt[2]?.kind === 'string' ? stmt[2].value : '',
          params: open === -1 ? [] : objectKeys(stmt, open).map((k) => k.key),
        });
        break;
      }
      default:
        problems.push(`line ${first.line}: cannot read a statement starting with '${first.value}'`);
        continue;
    }
    // Reads start after the declaration's '=': names, types and resource type strings come before it.
    file.references.push(...collectReferences(stmt, body, file.locals));
  }
  return file;
}

export function declaredNames(file: BicepFile): Set<string> {
  return new Set([
    ...file.params.map((p) => p.name),
    ...file.vars.map((v) => v.name),
    ...file.resources.map((r) => r.name),
    ...file.modules.map((m) => m.name),
  ]);
}

/** Every read names a declaration, and every param and var is read. */
export function symbolProblems(file: BicepFile): string[] {
  const declared = declaredNames(file);
  const read = new Set(file.references.map((r) => r.name));
  const problems: string[] = [];
  for (const r of file.references) {
    if (!declared.has(r.name) && !file.locals.has(r.name)) {
      problems.push(`${file.path}:${r.line}: '${r.name}' is not declared`);
    }
  }
  for (const p of file.params)
    if (!read.has(p.name)) problems.push(`${file.path}:${p.line}: param '${p.name}' is never used`);
  for (const v of file.vars)
    if (!read.has(v.name)) problems.push(`${file.path}:${v.line}: var '${v.name}' is never used`);
  return [...new Set(problems)];
}

/** Module paths exist; passed params are declared by the module; required ones are passed. */
export function moduleProblems(file: BicepFile, load: (path: string) => BicepFile | undefined): string[] {
  const problems: string[] = [];
  for (const m of file.modules) {
    const target = load(m.path);
    if (!target) {
      problems.push(`${file.path}:${m.line}: module ${m.name}: no file at '${m.path}'`);
      continue;
    }
    const declared = new Map(target.params.map((p) => [p.name, p]));
    for (const passed of m.params) {
      if (!declared.has(passed))
        problems.push(
          `${file.path}:${m.line}: module ${m.name} passes '${passed}', which ${m.path} does not declare`,
        );
    }
    for (const p of target.params) {
      if (!p.hasDefault && !m.params.includes(p.name)) {
        problems.push(
          `${file.path}:${m.line}: module ${m.name} does not pass required '${p.name}' of ${m.path}`,
        );
      }
    }
  }
  return problems;
}

/** Each resource type uses the API version listed for it. */
export function apiVersionProblems(file: BicepFile, allowed: Record<string, string>): string[] {
  return file.resources
    .filter((r) => allowed[r.type] !== r.apiVersion)
    .map((r) =>
      allowed[r.type] === undefined
        ? `${file.path}:${r.line}: ${r.type} is not in the allowed list`
        : `${file.path}:${r.line}: ${r.type}@${r.apiVersion}; the allowed version is ${allowed[r.type]}`,
    );
}

/** The trailing comment on a line, if any. */
export function trailingComment(file: BicepFile, line: number): string | undefined {
  return file.comments.find((c) => c.line === line && !c.fullLine)?.text;
}

/** Full-line comments directly above `line` (stopping at the first line that is not one). */
export function commentsAbove(
  file: BicepFile,
  line: number,
  skipLine: (line: number) => boolean = () => false,
): string[] {
  const lines = file.text.split('\n');
  const out: string[] = [];
  for (let l = line - 1; l >= 1; l--) {
    const full = file.comments.find((c) => c.line === l && c.fullLine);
    if (full) out.unshift(full.text);
    else if (!skipLine(l) || lines[l - 1]!.trim() === '') break;
  }
  return out;
}

/** Keys and value texts of every object literal entry anywhere in a statement. */
export function entries(file: BicepFile, stmt: Statement): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  const toks = stmt.tokens;
  toks.forEach((t, i) => {
    if (t.kind !== 'punct' || t.value !== '{') return;
    for (const k of objectKeys(toks, i)) {
      const valueStart = toks[k.colon + 1];
      if (!valueStart) continue;
      let depth = 0;
      let j = k.colon + 1;
      for (; j < toks.length; j++) {
        const x = toks[j]!;
        if (x.kind === 'punct' && openers[x.value]) depth++;
        else if (x.kind === 'punct' && [')', ']', '}'].includes(x.value)) {
          if (depth === 0) break;
          depth--;
        } else if (depth === 0 && (x.kind === 'newline' || x.value === ',')) break;
      }
      // Interpolation tokens follow their string, so the value ends at the furthest token end.
      const end = Math.max(...toks.slice(k.colon + 1, j).map((x) => x.end));
      out.push({ key: k.key, value: file.text.slice(valueStart.start, end) });
    }
  });
  return out;
}

/** Loads every .bicep file under a folder, keyed by path relative to it. */
export function loadTemplates(root: string): Map<string, BicepFile> {
  const files = new Map<string, BicepFile>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.bicep')) {
        const rel = relative(root, full).split('\\').join('/');
        files.set(rel, parseBicep(readFileSync(full, 'utf8'), `infra/${rel}`));
      }
    }
  };
  walk(root);
  return files;
}

/** Resolves a module path relative to the file that declares it. */
export function moduleLoader(root: string, files: Map<string, BicepFile>, from: BicepFile) {
  return (path: string): BicepFile | undefined => {
    const full = resolve(root, dirname(from.path.replace(/^infra\//, '')), path);
    if (!existsSync(full)) return undefined;
    return files.get(relative(root, full).split('\\').join('/'));
  };
}
