/**
 * A small interpreter for the subset of KQL (Kusto Query Language) the Log Analytics emulator answers:
 * `Table | where ... | summarize ... by ... | extend ... | project ... | take n`. Anything else is refused
 * with a `KqlError` that names what is missing, so a query never silently means something else here than
 * in Log Analytics. Typing follows KQL where it changes results: `long / long` is an integer division
 * (hence `todouble(errors) / total`), comparing a string with a number is an error.
 */

export type KqlType = 'long' | 'real' | 'string' | 'bool' | 'datetime' | 'timespan';
/** datetime and timespan cells hold milliseconds. */
export type Cell = number | string | boolean | null;

export interface KqlColumn {
  name: string;
  type: KqlType;
}

export interface KqlTable {
  columns: KqlColumn[];
  rows: Cell[][];
}

/** `code` follows Log Analytics' inner error codes: SyntaxError (parsing) or SemanticError (meaning). */
export class KqlError extends Error {
  override readonly name = 'KqlError';
  constructor(
    readonly code: 'SyntaxError' | 'SemanticError',
    message: string,
  ) {
    super(message);
  }
}

export const supportedOperators = ['where', 'summarize', 'extend', 'project', 'take', 'limit'] as const;
const scalarFunctions = [
  'todouble',
  'toreal',
  'toint',
  'tolong',
  'tostring',
  'round',
  'iff',
  'iif',
  'ago',
  'now',
  'isnull',
  'isnotnull',
  'not',
  'abs',
] as const;
const aggregateFunctions = [
  'count',
  'countif',
  'sum',
  'sumif',
  'avg',
  'avgif',
  'min',
  'max',
  'dcount',
  'percentile',
] as const;
type AggregateName = (typeof aggregateFunctions)[number];

// ---- tokens -------------------------------------------------------------------------------------------

type Token =
  | { kind: 'ident'; text: string; pos: number }
  | { kind: 'number'; text: string; pos: number; value: number; type: 'long' | 'real' }
  | { kind: 'timespan'; text: string; pos: number; value: number }
  | { kind: 'string'; text: string; pos: number; value: string }
  | { kind: 'op'; text: string; pos: number }
  | { kind: 'eof'; text: ''; pos: number };

const timespanUnits: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const twoCharOps = ['==', '!=', '<>', '<=', '>=', '=~', '!~'];
const oneCharOps = '<>=+-*/%(),|[];.';

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const previous = (): Token | undefined => tokens[tokens.length - 1];
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    const start = i;
    if (/[A-Za-z_]/.test(c)) {
      // Operator names such as project-away or mv-expand are one word after a pipe.
      const afterPipe = previous()?.text === '|';
      const m = (
        afterPipe ? /^[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z][A-Za-z0-9_]*)*/ : /^[A-Za-z_][A-Za-z0-9_]*/
      ).exec(text.slice(i))!;
      tokens.push({ kind: 'ident', text: m[0], pos: start });
      i += m[0].length;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(ms|d|h|m|s)?(?![A-Za-z0-9_])/.exec(text.slice(i));
      if (!m) throw new KqlError('SyntaxError', `Query could not be parsed at '${text.slice(i, i + 12)}'`);
      const [whole, digits, unit] = m;
      if (unit) {
        tokens.push({
          kind: 'timespan',
          text: whole,
          pos: start,
          value: Number(digits) * timespanUnits[unit]!,
        });
      } else {
        const isReal = /[.eE]/.test(digits!);
        tokens.push({
          kind: 'number',
          text: whole,
          pos: start,
          value: Number(digits),
          type: isReal ? 'real' : 'long',
        });
      }
      i += whole.length;
      continue;
    }
    if (c === "'" || c === '"' || (c === '@' && (text[i + 1] === "'" || text[i + 1] === '"'))) {
      const verbatim = c === '@';
      const quote = verbatim ? text[i + 1]! : c;
      i += verbatim ? 2 : 1;
      let value = '';
      for (;;) {
        if (i >= text.length)
          throw new KqlError('SyntaxError', `Unterminated string literal at position ${start}`);
        const ch = text[i]!;
        if (ch === quote) {
          i++;
          break;
        }
        if (ch === '\\' && !verbatim) {
          const next = text[i + 1] ?? '';
          value += next === 'n' ? '\n' : next === 't' ? '\t' : next;
          i += 2;
          continue;
        }
        value += ch;
        i++;
      }
      tokens.push({ kind: 'string', text: text.slice(start, i), pos: start, value });
      continue;
    }
    const two = text.slice(i, i + 2);
    if (twoCharOps.includes(two)) {
      tokens.push({ kind: 'op', text: two, pos: start });
      i += 2;
      continue;
    }
    if (oneCharOps.includes(c)) {
      tokens.push({ kind: 'op', text: c, pos: start });
      i++;
      continue;
    }
    throw new KqlError('SyntaxError', `Query could not be parsed at '${c}' (position ${start})`);
  }
  tokens.push({ kind: 'eof', text: '', pos: text.length });
  return tokens;
}

// ---- syntax tree --------------------------------------------------------------------------------------

type Expr =
  | { k: 'lit'; type: KqlType; v: Cell }
  | { k: 'col'; name: string }
  | { k: 'bin'; op: string; l: Expr; r: Expr }
  | { k: 'neg'; e: Expr }
  | { k: 'call'; fn: string; args: Expr[] };

interface Named {
  name: string;
  expr: Expr;
}

/** One aggregation in a summarize column; `name` is the placeholder column standing for its value. */
interface Aggregate {
  name: string;
  fn: AggregateName;
  args: Expr[];
}

/** A summarize column: an expression over aggregations (`countif(...) * 1.0 / count()`). */
interface SummaryColumn {
  name: string;
  /** The expression with each aggregation replaced by its placeholder column. */
  expr: Expr;
  aggregates: Aggregate[];
}

type Operator =
  | { op: 'where'; pred: Expr }
  | { op: 'extend'; columns: Named[] }
  | { op: 'project'; columns: Named[] }
  | { op: 'summarize'; columns: SummaryColumn[]; by: Named[] }
  | { op: 'take'; count: number };

interface Query {
  table: string;
  operators: Operator[];
}

const comparisonOps = ['==', '!=', '<>', '<', '<=', '>', '>=', '=~', '!~'];
const wordComparisons = ['contains', 'has'];

class Parser {
  private i = 0;
  private aggregateCount = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  private isOp(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'op' && t.text === text;
  }

  private isWord(text: string): boolean {
    const t = this.peek();
    return t.kind === 'ident' && t.text === text;
  }

  private expectOp(text: string): void {
    const t = this.next();
    if (t.kind !== 'op' || t.text !== text) throw this.unexpected(t, `'${text}'`);
  }

  private unexpected(t: Token, wanted: string): KqlError {
    return new KqlError(
      'SyntaxError',
      t.kind === 'eof'
        ? `Query ended where ${wanted} was expected`
        : `Query could not be parsed at '${t.text}' (position ${t.pos}): expected ${wanted}`,
    );
  }

  private ident(wanted: string): string {
    const t = this.next();
    if (t.kind !== 'ident') throw this.unexpected(t, wanted);
    return t.text;
  }

  parseQuery(): Query {
    if (this.tokens.some((t) => t.kind === 'op' && t.text === ';') || this.isWord('let')) {
      throw new KqlError(
        'SemanticError',
        "'let' statements and ';' are not in the emulator's KQL subset: write one tabular expression",
      );
    }
    const table = this.ident('a table name');
    const operators: Operator[] = [];
    while (this.isOp('|')) {
      this.next();
      operators.push(this.parseOperator());
    }
    const rest = this.peek();
    if (rest.kind !== 'eof') throw this.unexpected(rest, "'|' or the end of the query");
    return { table, operators };
  }

  private parseOperator(): Operator {
    const t = this.next();
    if (t.kind !== 'ident') throw this.unexpected(t, 'a tabular operator');
    switch (t.text) {
      case 'where':
      case 'filter':
        return { op: 'where', pred: this.parseExpr() };
      case 'extend':
        return { op: 'extend', columns: this.parseNamedList(true) };
      case 'project':
        return { op: 'project', columns: this.parseNamedList(false) };
      case 'take':
      case 'limit': {
        const n = this.next();
        if (n.kind !== 'number' || n.type !== 'long') throw this.unexpected(n, 'a whole number');
        return { op: 'take', count: n.value };
      }
      case 'summarize':
        return this.parseSummarize();
      default:
        throw new KqlError(
          'SemanticError',
          `operator '${t.text}' is not in the emulator's KQL subset (supported: ${supportedOperators.join(', ')})`,
        );
    }
  }

  private parseNamedList(requireName: boolean): Named[] {
    const out: Named[] = [];
    do {
      if (out.length > 0) this.next();
      if (this.peek().kind === 'ident' && this.isOp('=', 1)) {
        const name = this.ident('a column name');
        this.next();
        out.push({ name, expr: this.parseExpr() });
      } else {
        const expr = this.parseExpr();
        if (expr.k === 'col') out.push({ name: expr.name, expr });
        else if (requireName)
          throw new KqlError('SemanticError', 'extend needs a name for each column: name = expression');
        else
          throw new KqlError(
            'SemanticError',
            'project needs a name for each computed column: name = expression',
          );
      }
    } while (this.isOp(','));
    return out;
  }

  private parseSummarize(): Operator {
    const columns: SummaryColumn[] = [];
    do {
      if (columns.length > 0) this.next();
      let name: string | undefined;
      if (this.peek().kind === 'ident' && this.isOp('=', 1)) {
        name = this.ident('a column name');
        this.next();
      }
      const expr = this.parseExpr();
      const aggregates: Aggregate[] = [];
      const rewritten = extractAggregates(expr, aggregates, () => `\u0000aggregate${this.aggregateCount++}`);
      if (aggregates.length === 0) {
        throw new KqlError('SemanticError', 'each summarize column needs an aggregation, such as count()');
      }
      const only = aggregates[0]!;
      const implicit = rewritten.k === 'col' ? defaultAggregateName(only.fn, only.args) : undefined;
      if (name === undefined && implicit === undefined) {
        throw new KqlError(
          'SemanticError',
          'summarize needs a name for a computed column: name = expression',
        );
      }
      columns.push({ name: name ?? implicit!, expr: rewritten, aggregates });
    } while (this.isOp(','));
    let by: Named[] = [];
    if (this.isWord('by')) {
      this.next();
      by = this.parseNamedList(true);
    }
    return { op: 'summarize', columns, by };
  }

  private parseArgs(): Expr[] {
    this.expectOp('(');
    const args: Expr[] = [];
    if (!this.isOp(')')) {
      args.push(this.parseExpr());
      while (this.isOp(',')) {
        this.next();
        args.push(this.parseExpr());
      }
    }
    this.expectOp(')');
    return args;
  }

  parseExpr(): Expr {
    return this.parseOr();
  }

  private parseOr(): Expr {
    let l = this.parseAnd();
    while (this.isWord('or')) {
      this.next();
      l = { k: 'bin', op: 'or', l, r: this.parseAnd() };
    }
    return l;
  }

  private parseAnd(): Expr {
    let l = this.parseComparison();
    while (this.isWord('and')) {
      this.next();
      l = { k: 'bin', op: 'and', l, r: this.parseComparison() };
    }
    return l;
  }

  private parseComparison(): Expr {
    const l = this.parseAdditive();
    const t = this.peek();
    if (
      (t.kind === 'op' && comparisonOps.includes(t.text)) ||
      (t.kind === 'ident' && wordComparisons.includes(t.text))
    ) {
      this.next();
      return { k: 'bin', op: t.text === '<>' ? '!=' : t.text, l, r: this.parseAdditive() };
    }
    if (
      t.kind === 'ident' &&
      /^!?(in|startswith|endswith|has_any|matches|between|contains_cs|has_cs)$/.test(t.text)
    ) {
      throw new KqlError('SemanticError', `operator '${t.text}' is not in the emulator's KQL subset`);
    }
    return l;
  }

  private parseAdditive(): Expr {
    let l = this.parseMultiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next().text;
      l = { k: 'bin', op, l, r: this.parseMultiplicative() };
    }
    return l;
  }

  private parseMultiplicative(): Expr {
    let l = this.parseUnary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = this.next().text;
      l = { k: 'bin', op, l, r: this.parseUnary() };
    }
    return l;
  }

  private parseUnary(): Expr {
    if (this.isOp('-')) {
      this.next();
      return { k: 'neg', e: this.parseUnary() };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Expr {
    const t = this.next();
    switch (t.kind) {
      case 'number':
        return { k: 'lit', type: t.type, v: t.value };
      case 'timespan':
        return { k: 'lit', type: 'timespan', v: t.value };
      case 'string':
        return { k: 'lit', type: 'string', v: t.value };
      case 'op':
        if (t.text === '(') {
          const e = this.parseExpr();
          this.expectOp(')');
          return e;
        }
        throw this.unexpected(t, 'an expression');
      case 'ident': {
        if (t.text === 'true' || t.text === 'false') return { k: 'lit', type: 'bool', v: t.text === 'true' };
        if (this.isOp('(')) return { k: 'call', fn: t.text, args: this.parseArgs() };
        if (this.isOp('[') || this.isOp('.')) {
          throw new KqlError(
            'SemanticError',
            `dynamic member access ('${t.text}${this.peek().text}...') is not in the emulator's KQL subset`,
          );
        }
        return { k: 'col', name: t.text };
      }
      default:
        throw this.unexpected(t, 'an expression');
    }
  }
}

/** Moves the aggregations out of a summarize expression, leaving placeholder columns in their place. */
function extractAggregates(e: Expr, out: Aggregate[], placeholder: () => string): Expr {
  switch (e.k) {
    case 'lit':
      return e;
    case 'col':
      throw new KqlError(
        'SemanticError',
        `'${e.name}' in summarize must be inside an aggregation, or grouped with by ${e.name}`,
      );
    case 'neg':
      return { k: 'neg', e: extractAggregates(e.e, out, placeholder) };
    case 'bin':
      return {
        k: 'bin',
        op: e.op,
        l: extractAggregates(e.l, out, placeholder),
        r: extractAggregates(e.r, out, placeholder),
      };
    case 'call': {
      if ((aggregateFunctions as readonly string[]).includes(e.fn)) {
        const name = placeholder();
        out.push({ name, fn: e.fn as AggregateName, args: e.args });
        return { k: 'col', name };
      }
      if (!(scalarFunctions as readonly string[]).includes(e.fn)) {
        throw new KqlError(
          'SemanticError',
          `aggregation '${e.fn}' is not in the emulator's KQL subset (supported: ${aggregateFunctions.join(', ')})`,
        );
      }
      return { k: 'call', fn: e.fn, args: e.args.map((a) => extractAggregates(a, out, placeholder)) };
    }
  }
}

function defaultAggregateName(fn: AggregateName, args: Expr[]): string {
  const first = args[0];
  const column = first?.k === 'col' ? first.name : '';
  if (fn === 'count' || fn === 'countif') return `${fn}_`;
  if (fn === 'percentile') {
    const p = args[1];
    return `percentile_${column}_${p?.k === 'lit' ? String(p.v) : ''}`;
  }
  return `${fn}_${column}`;
}

// ---- types --------------------------------------------------------------------------------------------

type Schema = Map<string, KqlType>;

const isNumeric = (t: KqlType): boolean => t === 'long' || t === 'real';

function typeError(op: string, a: KqlType, b: KqlType): KqlError {
  return new KqlError(
    'SemanticError',
    `operator '${op}' is not defined for ${a} and ${b}; add an explicit cast`,
  );
}

function inferType(e: Expr, schema: Schema): KqlType {
  switch (e.k) {
    case 'lit':
      return e.type;
    case 'col': {
      const t = schema.get(e.name);
      if (!t) {
        throw new KqlError(
          'SemanticError',
          `Failed to resolve scalar expression named '${e.name}' (columns here: ${[...schema.keys()].join(', ')})`,
        );
      }
      return t;
    }
    case 'neg': {
      const t = inferType(e.e, schema);
      if (!isNumeric(t) && t !== 'timespan')
        throw new KqlError('SemanticError', `unary '-' is not defined for ${t}`);
      return t;
    }
    case 'bin':
      return inferBinary(e.op, inferType(e.l, schema), inferType(e.r, schema));
    case 'call':
      return inferCall(e, schema);
  }
}

function inferBinary(op: string, a: KqlType, b: KqlType): KqlType {
  if (op === 'and' || op === 'or') {
    if (a !== 'bool' || b !== 'bool') throw typeError(op, a, b);
    return 'bool';
  }
  if (op === 'contains' || op === 'has' || op === '=~' || op === '!~') {
    if (a !== 'string' || b !== 'string') throw typeError(op, a, b);
    return 'bool';
  }
  if (comparisonOps.includes(op)) {
    const comparable = (isNumeric(a) && isNumeric(b)) || a === b;
    if (!comparable) {
      throw new KqlError(
        'SemanticError',
        `Cannot compare values of types ${a} and ${b}. Try adding explicit casts`,
      );
    }
    return 'bool';
  }
  if (isNumeric(a) && isNumeric(b)) return a === 'long' && b === 'long' ? 'long' : 'real';
  if (op === '+' && ((a === 'datetime' && b === 'timespan') || (a === 'timespan' && b === 'datetime')))
    return 'datetime';
  if ((op === '+' || op === '-') && a === 'timespan' && b === 'timespan') return 'timespan';
  if (op === '-' && a === 'datetime' && b === 'timespan') return 'datetime';
  if (op === '-' && a === 'datetime' && b === 'datetime') return 'timespan';
  if (op === '*' && ((a === 'timespan' && isNumeric(b)) || (isNumeric(a) && b === 'timespan')))
    return 'timespan';
  if (op === '/' && a === 'timespan' && isNumeric(b)) return 'timespan';
  if (op === '/' && a === 'timespan' && b === 'timespan') return 'real';
  throw typeError(op, a, b);
}

function arity(e: Extract<Expr, { k: 'call' }>, min: number, max = min): void {
  if (e.args.length < min || e.args.length > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    throw new KqlError(
      'SemanticError',
      `function '${e.fn}' expects ${expected} argument(s), got ${e.args.length}`,
    );
  }
}

function inferCall(e: Extract<Expr, { k: 'call' }>, schema: Schema): KqlType {
  const argType = (i: number): KqlType => inferType(e.args[i]!, schema);
  switch (e.fn) {
    case 'todouble':
    case 'toreal':
      arity(e, 1);
      argType(0);
      return 'real';
    case 'toint':
    case 'tolong':
      arity(e, 1);
      argType(0);
      return 'long';
    case 'tostring':
      arity(e, 1);
      argType(0);
      return 'string';
    case 'round': {
      arity(e, 1, 2);
      const t = argType(0);
      if (!isNumeric(t)) throw new KqlError('SemanticError', `round() expects a number, got ${t}`);
      if (e.args.length === 2 && argType(1) !== 'long')
        throw new KqlError('SemanticError', 'round() precision must be a whole number');
      return t;
    }
    case 'abs': {
      arity(e, 1);
      const t = argType(0);
      if (!isNumeric(t) && t !== 'timespan')
        throw new KqlError('SemanticError', `abs() expects a number, got ${t}`);
      return t;
    }
    case 'iff':
    case 'iif': {
      arity(e, 3);
      if (argType(0) !== 'bool') throw new KqlError('SemanticError', `${e.fn}() expects a bool condition`);
      const a = argType(1);
      const b = argType(2);
      if (a === b) return a;
      if (isNumeric(a) && isNumeric(b)) return 'real';
      throw new KqlError('SemanticError', `${e.fn}() branches have different types: ${a} and ${b}`);
    }
    case 'ago':
      arity(e, 1);
      if (argType(0) !== 'timespan')
        throw new KqlError('SemanticError', 'ago() expects a timespan, e.g. ago(5m)');
      return 'datetime';
    case 'now':
      arity(e, 0);
      return 'datetime';
    case 'isnull':
    case 'isnotnull':
      arity(e, 1);
      argType(0);
      return 'bool';
    case 'not':
      arity(e, 1);
      if (argType(0) !== 'bool') throw new KqlError('SemanticError', 'not() expects a bool');
      return 'bool';
    default:
      if ((aggregateFunctions as readonly string[]).includes(e.fn)) {
        throw new KqlError('SemanticError', `aggregation '${e.fn}()' is only valid in summarize`);
      }
      throw new KqlError(
        'SemanticError',
        `function '${e.fn}' is not in the emulator's KQL subset (supported: ${scalarFunctions.join(', ')})`,
      );
  }
}

// ---- evaluation ---------------------------------------------------------------------------------------

interface Context {
  now: number;
  index: Map<string, number>;
  schema: Schema;
  /** Static types of subexpressions, worked out once per operator rather than once per row. */
  types: WeakMap<Expr, KqlType>;
}

function typeIn(ctx: Context, e: Expr): KqlType {
  let t = ctx.types.get(e);
  if (t === undefined) ctx.types.set(e, (t = inferType(e, ctx.schema)));
  return t;
}

function toNumber(v: Cell): number | null {
  if (v === null) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  const trimmed = v.trim();
  if (trimmed === '') return null;
  const n = Number(trimmed);
  return Number.isNaN(n) ? null : n;
}

function formatCell(v: Cell, type: KqlType): string {
  if (v === null) return '';
  if (type === 'datetime' && typeof v === 'number') return new Date(v).toISOString();
  return String(v);
}

function roundHalfAway(x: number, digits: number): number {
  const f = 10 ** digits;
  return (Math.sign(x) * Math.round(Math.abs(x) * f)) / f;
}

function evaluate(e: Expr, row: Cell[], ctx: Context): Cell {
  switch (e.k) {
    case 'lit':
      return e.v;
    case 'col':
      return row[ctx.index.get(e.name)!] ?? null;
    case 'neg': {
      const v = evaluate(e.e, row, ctx);
      return v === null ? null : -(v as number);
    }
    case 'bin':
      return evaluateBinary(e, row, ctx);
    case 'call':
      return evaluateCall(e, row, ctx);
  }
}

function evaluateBinary(e: Extract<Expr, { k: 'bin' }>, row: Cell[], ctx: Context): Cell {
  const l = evaluate(e.l, row, ctx);
  if (e.op === 'and' && l === false) return false;
  if (e.op === 'or' && l === true) return true;
  const r = evaluate(e.r, row, ctx);
  if (e.op === 'and') return r === false ? false : l === null || r === null ? null : true;
  if (e.op === 'or') return r === true ? true : l === null || r === null ? null : false;
  if (l === null || r === null) return null;
  switch (e.op) {
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    case '<':
      return l < r;
    case '<=':
      return l <= r;
    case '>':
      return l > r;
    case '>=':
      return l >= r;
    case '=~':
      return String(l).toLowerCase() === String(r).toLowerCase();
    case '!~':
      return String(l).toLowerCase() !== String(r).toLowerCase();
    case 'contains':
      return String(l).toLowerCase().includes(String(r).toLowerCase());
    case 'has': {
      const term = String(r).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return new RegExp(`(^|[^A-Za-z0-9])${term}($|[^A-Za-z0-9])`, 'i').test(String(l));
    }
  }
  const a = l as number;
  const b = r as number;
  const integer = typeIn(ctx, e.l) === 'long' && typeIn(ctx, e.r) === 'long';
  switch (e.op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      if (integer) return b === 0 ? null : Math.trunc(a / b);
      return a / b;
    case '%':
      if (integer) return b === 0 ? null : a % b;
      return a % b;
  }
  throw new KqlError('SemanticError', `operator '${e.op}' is not supported`);
}

function evaluateCall(e: Extract<Expr, { k: 'call' }>, row: Cell[], ctx: Context): Cell {
  const arg = (i: number): Cell => evaluate(e.args[i]!, row, ctx);
  switch (e.fn) {
    case 'todouble':
    case 'toreal':
      return toNumber(arg(0));
    case 'toint':
    case 'tolong': {
      const n = toNumber(arg(0));
      return n === null || !Number.isFinite(n) ? null : Math.trunc(n);
    }
    case 'tostring':
      return formatCell(arg(0), typeIn(ctx, e.args[0]!));
    case 'round': {
      const x = arg(0);
      const digits = e.args.length === 2 ? arg(1) : 0;
      return x === null || digits === null ? null : roundHalfAway(x as number, digits as number);
    }
    case 'abs': {
      const x = arg(0);
      return x === null ? null : Math.abs(x as number);
    }
    case 'iff':
    case 'iif':
      return arg(0) === true ? arg(1) : arg(2);
    case 'ago': {
      const span = arg(0);
      return span === null ? null : ctx.now - (span as number);
    }
    case 'now':
      return ctx.now;
    case 'isnull':
      return arg(0) === null;
    case 'isnotnull':
      return arg(0) !== null;
    case 'not': {
      const v = arg(0);
      return v === null ? null : !v;
    }
  }
  throw new KqlError('SemanticError', `function '${e.fn}' is not supported`);
}

// ---- operators ----------------------------------------------------------------------------------------

function schemaOf(table: KqlTable): Schema {
  return new Map(table.columns.map((c) => [c.name, c.type]));
}

function contextOf(table: KqlTable, now: number): Context {
  return {
    now,
    schema: schemaOf(table),
    index: new Map(table.columns.map((c, i) => [c.name, i])),
    types: new WeakMap(),
  };
}

function applyWhere(table: KqlTable, pred: Expr, now: number): KqlTable {
  const ctx = contextOf(table, now);
  const t = inferType(pred, ctx.schema);
  if (t !== 'bool') throw new KqlError('SemanticError', `where needs a bool expression, got ${t}`);
  return { columns: table.columns, rows: table.rows.filter((row) => evaluate(pred, row, ctx) === true) };
}

function applyExtend(table: KqlTable, columns: Named[], now: number): KqlTable {
  let current = table;
  // Each new column can use the ones before it, as in KQL.
  for (const c of columns) {
    const ctx = contextOf(current, now);
    const type = inferType(c.expr, ctx.schema);
    const existing = ctx.index.get(c.name);
    const values = current.rows.map((row) => evaluate(c.expr, row, ctx));
    if (existing !== undefined) {
      current = {
        columns: current.columns.map((col, i) => (i === existing ? { name: c.name, type } : col)),
        rows: current.rows.map((row, r) => row.map((v, i) => (i === existing ? values[r]! : v))),
      };
    } else {
      current = {
        columns: [...current.columns, { name: c.name, type }],
        rows: current.rows.map((row, r) => [...row, values[r]!]),
      };
    }
  }
  return current;
}

function applyProject(table: KqlTable, columns: Named[], now: number): KqlTable {
  const ctx = contextOf(table, now);
  const types = columns.map((c) => inferType(c.expr, ctx.schema));
  return {
    columns: columns.map((c, i) => ({ name: c.name, type: types[i]! })),
    rows: table.rows.map((row) => columns.map((c) => evaluate(c.expr, row, ctx))),
  };
}

function checkAggregate(a: Aggregate, schema: Schema): KqlType {
  const argc = a.args.length;
  const want = (n: number): void => {
    if (argc !== n) throw new KqlError('SemanticError', `${a.fn}() expects ${n} argument(s), got ${argc}`);
  };
  const boolArg = (i: number): void => {
    if (inferType(a.args[i]!, schema) !== 'bool')
      throw new KqlError('SemanticError', `${a.fn}() expects a bool predicate`);
  };
  const numericArg = (i: number): KqlType => {
    const t = inferType(a.args[i]!, schema);
    if (!isNumeric(t) && t !== 'timespan')
      throw new KqlError('SemanticError', `${a.fn}() expects a number, got ${t}`);
    return t;
  };
  switch (a.fn) {
    case 'count':
      want(0);
      return 'long';
    case 'countif':
      want(1);
      boolArg(0);
      return 'long';
    case 'dcount':
      want(1);
      inferType(a.args[0]!, schema);
      return 'long';
    case 'sum':
      want(1);
      return numericArg(0);
    case 'sumif': {
      want(2);
      boolArg(1);
      return numericArg(0);
    }
    case 'avg':
      want(1);
      return numericArg(0) === 'timespan' ? 'timespan' : 'real';
    case 'avgif':
      want(2);
      boolArg(1);
      return numericArg(0) === 'timespan' ? 'timespan' : 'real';
    case 'min':
    case 'max':
      want(1);
      return inferType(a.args[0]!, schema);
    case 'percentile': {
      want(2);
      const p = a.args[1]!;
      if (p.k !== 'lit' || !isNumeric(p.type))
        throw new KqlError('SemanticError', 'percentile() needs a constant percentage');
      return numericArg(0);
    }
  }
}

function aggregateRows(a: Aggregate, rows: Cell[][], ctx: Context): Cell {
  const values = (i: number): Cell[] => rows.map((r) => evaluate(a.args[i]!, r, ctx));
  const where = (i: number): Cell[][] => rows.filter((r) => evaluate(a.args[i]!, r, ctx) === true);
  const numbers = (cells: Cell[]): number[] => cells.filter((v): v is number => typeof v === 'number');
  const sum = (ns: number[]): number | null => (ns.length === 0 ? null : ns.reduce((s, n) => s + n, 0));
  const avg = (ns: number[]): number | null =>
    ns.length === 0 ? null : ns.reduce((s, n) => s + n, 0) / ns.length;
  switch (a.fn) {
    case 'count':
      return rows.length;
    case 'countif':
      return where(0).length;
    case 'dcount':
      return new Set(values(0).filter((v) => v !== null)).size;
    case 'sum':
      return sum(numbers(values(0)));
    case 'sumif':
      return sum(numbers(where(1).map((r) => evaluate(a.args[0]!, r, ctx))));
    case 'avg':
      return avg(numbers(values(0)));
    case 'avgif':
      return avg(numbers(where(1).map((r) => evaluate(a.args[0]!, r, ctx))));
    case 'min':
    case 'max': {
      const present = values(0).filter((v) => v !== null);
      if (present.length === 0) return null;
      return present.reduce((m, v) => ((a.fn === 'min' ? v < m : v > m) ? v : m));
    }
    case 'percentile': {
      const sorted = numbers(values(0)).sort((x, y) => x - y);
      if (sorted.length === 0) return null;
      const p = (a.args[1] as { v: number }).v;
      // Nearest rank; Log Analytics estimates (T-Digest), so values can differ slightly there.
      const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
      return sorted[rank - 1]!;
    }
  }
}

function applySummarize(table: KqlTable, columns: SummaryColumn[], by: Named[], now: number): KqlTable {
  const ctx = contextOf(table, now);
  const byTypes = by.map((b) => inferType(b.expr, ctx.schema));
  const aggregates = columns.flatMap((c) => c.aggregates);
  // Each group's aggregations form a row of placeholder columns, over which the column expressions run.
  const perGroup: KqlTable = {
    columns: aggregates.map((a) => ({ name: a.name, type: checkAggregate(a, ctx.schema) })),
    rows: [],
  };
  const groupCtx = contextOf(perGroup, now);
  const columnTypes = columns.map((c) => inferType(c.expr, groupCtx.schema));
  const groups = new Map<string, { key: Cell[]; rows: Cell[][] }>();
  for (const row of table.rows) {
    const key = by.map((b) => evaluate(b.expr, row, ctx));
    const id = JSON.stringify(key);
    let group = groups.get(id);
    if (!group) groups.set(id, (group = { key, rows: [] }));
    group.rows.push(row);
  }
  // Without `by`, an empty input still gives one row (count() = 0), as in KQL.
  if (by.length === 0 && groups.size === 0) groups.set('[]', { key: [], rows: [] });
  return {
    columns: [
      ...by.map((b, i) => ({ name: b.name, type: byTypes[i]! })),
      ...columns.map((c, i) => ({ name: c.name, type: columnTypes[i]! })),
    ],
    rows: [...groups.values()].map((g) => {
      const values = aggregates.map((a) => aggregateRows(a, g.rows, ctx));
      return [...g.key, ...columns.map((c) => evaluate(c.expr, values, groupCtx))];
    }),
  };
}

/** Parses a query, or throws the KqlError a user would need to fix it. */
export function parseKql(text: string): { table: string; run(table: KqlTable, now: number): KqlTable } {
  const query = new Parser(tokenize(text)).parseQuery();
  return {
    table: query.table,
    run(input, now) {
      let table = input;
      for (const op of query.operators) {
        switch (op.op) {
          case 'where':
            table = applyWhere(table, op.pred, now);
            break;
          case 'extend':
            table = applyExtend(table, op.columns, now);
            break;
          case 'project':
            table = applyProject(table, op.columns, now);
            break;
          case 'summarize':
            table = applySummarize(table, op.columns, op.by, now);
            break;
          case 'take':
            table = { columns: table.columns, rows: table.rows.slice(0, op.count) };
            break;
        }
      }
      return table;
    },
  };
}
