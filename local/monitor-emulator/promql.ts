/**
 * A small evaluator for the subset of PromQL the Prometheus emulator answers, over counters derived from
 * the emulator's requests: instant queries built from counter selectors, `rate`/`increase` over a range,
 * the aggregations `sum`, `avg`, `min`, `max`, `count` (with `by`/`without`), arithmetic between results,
 * `or`, and `vector(n)`. Anything else is refused with a PromqlError naming it.
 *
 * Unlike Prometheus, `rate` and `increase` are exact (no extrapolation from scrape samples), and a series
 * exists from its first request on, as a scraped counter would.
 */

export type Labels = Record<string, string>;

/** A counter's series with how much it grew in `(from, to]`. */
export interface CounterSeries {
  labels: Labels;
  increase: number;
}

/** Reads counters: every series of `metric` that exists at `to`, with its increase in `(from, to]`. */
export type CounterReader = (
  metric: string,
  matchers: Matcher[],
  from: number,
  to: number,
) => CounterSeries[];

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export class PromqlError extends Error {
  override readonly name = 'PromqlError';
}

export type PromValue =
  { kind: 'scalar'; value: number } | { kind: 'vector'; samples: { labels: Labels; value: number }[] };

export const supportedFunctions = ['rate', 'increase', 'vector'] as const;
export const supportedAggregations = ['sum', 'avg', 'min', 'max', 'count'] as const;

// ---- tokens -------------------------------------------------------------------------------------------

type Token =
  | { kind: 'ident'; text: string; pos: number }
  | { kind: 'number'; text: string; pos: number; value: number }
  | { kind: 'duration'; text: string; pos: number; ms: number }
  | { kind: 'string'; text: string; pos: number; value: string }
  | { kind: 'op'; text: string; pos: number }
  | { kind: 'eof'; text: ''; pos: number };

const durationUnits: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let inRange = false;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    const start = i;
    const rest = text.slice(i);
    if (inRange) {
      const m = /^(?:\d+(?:ms|[smhdwy]))+/.exec(rest);
      if (m) {
        let ms = 0;
        for (const part of m[0].matchAll(/(\d+)(ms|[smhdwy])/g))
          ms += Number(part[1]) * durationUnits[part[2]!]!;
        tokens.push({ kind: 'duration', text: m[0], pos: start, ms });
        i += m[0].length;
        continue;
      }
    }
    const num = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(rest);
    if (num) {
      tokens.push({ kind: 'number', text: num[0], pos: start, value: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const ident = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(rest);
    if (ident) {
      tokens.push({ kind: 'ident', text: ident[0], pos: start });
      i += ident[0].length;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      i++;
      let value = '';
      for (;;) {
        if (i >= text.length)
          throw new PromqlError(`1:${start + 1}: parse error: unterminated quoted string`);
        const ch = text[i]!;
        if (ch === c) {
          i++;
          break;
        }
        if (ch === '\\' && c !== '`') {
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
    if (['!=', '=~', '!~', '==', '>=', '<='].includes(two)) {
      tokens.push({ kind: 'op', text: two, pos: start });
      i += 2;
      continue;
    }
    if ('{}[](),=+-*/^%<>'.includes(c)) {
      if (c === '[') inRange = true;
      if (c === ']') inRange = false;
      tokens.push({ kind: 'op', text: c, pos: start });
      i++;
      continue;
    }
    throw new PromqlError(`1:${start + 1}: parse error: unexpected character '${c}'`);
  }
  tokens.push({ kind: 'eof', text: '', pos: text.length });
  return tokens;
}

// ---- syntax tree --------------------------------------------------------------------------------------

type Node =
  | { k: 'number'; value: number }
  | { k: 'selector'; metric: string; matchers: Matcher[] }
  | { k: 'range'; metric: string; matchers: Matcher[]; ms: number }
  | { k: 'call'; fn: 'rate' | 'increase' | 'vector'; arg: Node }
  | { k: 'aggregate'; op: string; grouping?: { without: boolean; labels: string[] }; arg: Node }
  | { k: 'binary'; op: string; l: Node; r: Node }
  | { k: 'neg'; e: Node };

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[Math.min(this.i, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.text === text;
  }

  private expect(text: string): void {
    const t = this.next();
    if (t.kind !== 'op' || t.text !== text) throw this.unexpected(t, `"${text}"`);
  }

  private unexpected(t: Token, wanted: string): PromqlError {
    return new PromqlError(
      t.kind === 'eof'
        ? `1:${t.pos + 1}: parse error: unexpected end of input, expected ${wanted}`
        : `1:${t.pos + 1}: parse error: unexpected "${t.text}", expected ${wanted}`,
    );
  }

  parse(): Node {
    const node = this.parseOr();
    const t = this.peek();
    if (t.kind !== 'eof') throw this.unexpected(t, 'an operator or the end of the query');
    return node;
  }

  private parseOr(): Node {
    let l = this.parseAdditive();
    for (;;) {
      const t = this.peek();
      if (t.kind === 'ident' && t.text === 'or') {
        this.next();
        l = { k: 'binary', op: 'or', l, r: this.parseAdditive() };
        continue;
      }
      if (t.kind === 'ident' && (t.text === 'and' || t.text === 'unless')) {
        throw new PromqlError(`set operator "${t.text}" is not in the emulator's PromQL subset (only "or")`);
      }
      if (t.kind === 'op' && ['==', '!=', '>', '<', '>=', '<='].includes(t.text)) {
        throw new PromqlError(`comparison operator "${t.text}" is not in the emulator's PromQL subset`);
      }
      return l;
    }
  }

  private parseAdditive(): Node {
    let l = this.parseMultiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next().text;
      l = { k: 'binary', op, l, r: this.parseMultiplicative() };
    }
    return l;
  }

  private parseMultiplicative(): Node {
    let l = this.parseUnary();
    while (this.isOp('*') || this.isOp('/')) {
      const op = this.next().text;
      l = { k: 'binary', op, l, r: this.parseUnary() };
    }
    if (this.isOp('%') || this.isOp('^')) {
      throw new PromqlError(`operator "${this.peek().text}" is not in the emulator's PromQL subset`);
    }
    return l;
  }

  private parseUnary(): Node {
    if (this.isOp('-')) {
      this.next();
      return { k: 'neg', e: this.parseUnary() };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Node {
    const t = this.peek();
    if (t.kind === 'number') {
      this.next();
      return { k: 'number', value: t.value };
    }
    if (this.isOp('(')) {
      this.next();
      const e = this.parseOr();
      this.expect(')');
      return e;
    }
    if (this.isOp('{')) return this.parseSelector(undefined);
    if (t.kind !== 'ident') throw this.unexpected(this.next(), 'an expression');
    this.next();
    if ((supportedAggregations as readonly string[]).includes(t.text)) return this.parseAggregate(t.text);
    if (this.isOp('(')) return this.parseCall(t.text);
    return this.parseSelector(t.text);
  }

  private parseGrouping(): { without: boolean; labels: string[] } | undefined {
    const t = this.peek();
    if (t.kind !== 'ident' || (t.text !== 'by' && t.text !== 'without')) return undefined;
    this.next();
    this.expect('(');
    const labels: string[] = [];
    while (!this.isOp(')')) {
      if (labels.length > 0) this.expect(',');
      const l = this.next();
      if (l.kind !== 'ident') throw this.unexpected(l, 'a label name');
      labels.push(l.text);
    }
    this.expect(')');
    return { without: t.text === 'without', labels };
  }

  private parseAggregate(op: string): Node {
    let grouping = this.parseGrouping();
    this.expect('(');
    const arg = this.parseOr();
    if (this.isOp(',')) throw new PromqlError(`${op}() takes one argument`);
    this.expect(')');
    grouping ??= this.parseGrouping();
    return { k: 'aggregate', op, ...(grouping ? { grouping } : {}), arg };
  }

  private parseCall(fn: string): Node {
    if (!(supportedFunctions as readonly string[]).includes(fn)) {
      throw new PromqlError(
        `function "${fn}" is not in the emulator's PromQL subset (supported: ${supportedFunctions.join(', ')}, and ${supportedAggregations.join(', ')})`,
      );
    }
    this.expect('(');
    const arg = this.parseOr();
    this.expect(')');
    if (fn === 'vector') {
      if (arg.k !== 'number') throw new PromqlError('vector() expects a number');
    } else if (arg.k !== 'range') {
      throw new PromqlError(`${fn}() expects a range vector such as http_requests_total{...}[5m]`);
    }
    return { k: 'call', fn: fn as 'rate' | 'increase' | 'vector', arg };
  }

  private parseSelector(metric: string | undefined): Node {
    const matchers: Matcher[] = [];
    if (this.isOp('{')) {
      this.next();
      while (!this.isOp('}')) {
        if (matchers.length > 0) {
          this.expect(',');
          if (this.isOp('}')) break;
        }
        const label = this.next();
        if (label.kind !== 'ident') throw this.unexpected(label, 'a label name');
        const op = this.next();
        if (op.kind !== 'op' || !['=', '!=', '=~', '!~'].includes(op.text)) {
          throw this.unexpected(op, 'a label matching operator (=, !=, =~, !~)');
        }
        const value = this.next();
        if (value.kind !== 'string') throw this.unexpected(value, 'a quoted label value');
        matchers.push({ label: label.text, op: op.text as Matcher['op'], value: value.value });
      }
      this.expect('}');
    }
    const nameMatcher = matchers.find((m) => m.label === '__name__' && m.op === '=');
    const name = metric ?? nameMatcher?.value;
    if (!name) throw new PromqlError('vector selector must contain a metric name');
    const rest = matchers.filter((m) => m !== nameMatcher);
    if (this.isOp('[')) {
      this.next();
      const d = this.next();
      if (d.kind !== 'duration') throw this.unexpected(d, 'a duration such as 5m');
      if (this.isOp(':')) throw new PromqlError("subqueries are not in the emulator's PromQL subset");
      this.expect(']');
      return { k: 'range', metric: name, matchers: rest, ms: d.ms };
    }
    const t = this.peek();
    if (t.kind === 'ident' && (t.text === 'offset' || t.text === '@')) {
      throw new PromqlError(`modifier "${t.text}" is not in the emulator's PromQL subset`);
    }
    return { k: 'selector', metric: name, matchers: rest };
  }
}

// ---- evaluation ---------------------------------------------------------------------------------------

function signature(labels: Labels, drop: string[] = ['__name__']): string {
  return JSON.stringify(
    Object.entries(labels)
      .filter(([k]) => !drop.includes(k))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

function withoutName(labels: Labels): Labels {
  const { __name__: _name, ...rest } = labels;
  return rest;
}

function arithmetic(op: string, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    default:
      return a / b;
  }
}

function evaluate(node: Node, at: number, read: CounterReader): PromValue {
  switch (node.k) {
    case 'number':
      return { kind: 'scalar', value: node.value };
    case 'neg': {
      const v = evaluate(node.e, at, read);
      return v.kind === 'scalar'
        ? { kind: 'scalar', value: -v.value }
        : {
            kind: 'vector',
            samples: v.samples.map((s) => ({ labels: withoutName(s.labels), value: -s.value })),
          };
    }
    case 'selector':
      return {
        kind: 'vector',
        samples: read(node.metric, node.matchers, Number.NEGATIVE_INFINITY, at).map((s) => ({
          labels: { __name__: node.metric, ...s.labels },
          value: s.increase,
        })),
      };
    case 'range':
      throw new PromqlError(
        'a range vector cannot be the result of an instant query here; wrap it in rate() or increase()',
      );
    case 'call': {
      if (node.fn === 'vector')
        return { kind: 'vector', samples: [{ labels: {}, value: (node.arg as { value: number }).value }] };
      const range = node.arg as Extract<Node, { k: 'range' }>;
      const series = read(range.metric, range.matchers, at - range.ms, at);
      const seconds = range.ms / 1000;
      return {
        kind: 'vector',
        samples: series.map((s) => ({
          labels: { ...s.labels },
          value: node.fn === 'rate' ? s.increase / seconds : s.increase,
        })),
      };
    }
    case 'aggregate':
      return aggregate(node, evaluate(node.arg, at, read));
    case 'binary':
      return binary(node.op, evaluate(node.l, at, read), evaluate(node.r, at, read));
  }
}

function aggregate(node: Extract<Node, { k: 'aggregate' }>, input: PromValue): PromValue {
  if (input.kind !== 'vector')
    throw new PromqlError(`expected an instant vector in ${node.op}(), got a scalar`);
  const groups = new Map<string, { labels: Labels; values: number[] }>();
  for (const s of input.samples) {
    const labels: Labels = {};
    for (const [k, v] of Object.entries(withoutName(s.labels))) {
      const listed = node.grouping?.labels.includes(k) ?? false;
      if (node.grouping && (node.grouping.without ? !listed : listed)) labels[k] = v;
    }
    const key = signature(labels);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels, values: [] }));
    g.values.push(s.value);
  }
  return {
    kind: 'vector',
    samples: [...groups.values()].map((g) => {
      const total = g.values.reduce((a, b) => a + b, 0);
      const value =
        node.op === 'sum'
          ? total
          : node.op === 'avg'
            ? total / g.values.length
            : node.op === 'count'
              ? g.values.length
              : node.op === 'min'
                ? Math.min(...g.values)
                : Math.max(...g.values);
      return { labels: g.labels, value };
    }),
  };
}

function binary(op: string, l: PromValue, r: PromValue): PromValue {
  if (op === 'or') {
    if (l.kind !== 'vector' || r.kind !== 'vector')
      throw new PromqlError('"or" needs instant vectors on both sides');
    const seen = new Set(l.samples.map((s) => signature(s.labels)));
    return {
      kind: 'vector',
      samples: [...l.samples, ...r.samples.filter((s) => !seen.has(signature(s.labels)))],
    };
  }
  if (l.kind === 'scalar' && r.kind === 'scalar')
    return { kind: 'scalar', value: arithmetic(op, l.value, r.value) };
  if (l.kind === 'scalar' && r.kind === 'vector') {
    return {
      kind: 'vector',
      samples: r.samples.map((s) => ({
        labels: withoutName(s.labels),
        value: arithmetic(op, l.value, s.value),
      })),
    };
  }
  if (l.kind === 'vector' && r.kind === 'scalar') {
    return {
      kind: 'vector',
      samples: l.samples.map((s) => ({
        labels: withoutName(s.labels),
        value: arithmetic(op, s.value, r.value),
      })),
    };
  }
  if (l.kind !== 'vector' || r.kind !== 'vector') throw new PromqlError('unexpected operands');
  // One-to-one matching on every label but the metric name, as PromQL does without on()/ignoring().
  const right = new Map(r.samples.map((s) => [signature(s.labels), s]));
  const samples: { labels: Labels; value: number }[] = [];
  for (const s of l.samples) {
    const match = right.get(signature(s.labels));
    if (match) samples.push({ labels: withoutName(s.labels), value: arithmetic(op, s.value, match.value) });
  }
  return { kind: 'vector', samples };
}

/** Parses and evaluates an instant query at `at` (ms), or throws a PromqlError for the client. */
export function evaluatePromql(query: string, at: number, read: CounterReader): PromValue {
  if (query.trim() === '') throw new PromqlError('1:1: parse error: no expression found in input');
  return evaluate(new Parser(tokenize(query)).parse(), at, read);
}

/** Whether labels satisfy matchers (regexes fully anchored, as in Prometheus). */
export function matches(labels: Labels, matchers: Matcher[]): boolean {
  return matchers.every((m) => {
    const v = labels[m.label] ?? '';
    switch (m.op) {
      case '=':
        return v === m.value;
      case '!=':
        return v !== m.value;
      case '=~':
        return anchored(m.value).test(v);
      case '!~':
        return !anchored(m.value).test(v);
    }
  });
}

function anchored(re: string): RegExp {
  try {
    return new RegExp(`^(?:${re})$`);
  } catch (e) {
    throw new PromqlError(`invalid regular expression "${re}": ${(e as Error).message}`);
  }
}

/** Prometheus's text form of a sample value. */
export function formatSampleValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}
