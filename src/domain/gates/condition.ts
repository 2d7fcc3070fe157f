/**
 * Gate conditions: a small expression language over one measurement, e.g. `result <= baseline * 1.2`
 * or `sampleSize >= 100 and result < 0.01`. Parsed by hand into a tree and evaluated by walking it, so a
 * policy can never run code: no `eval`, no `Function`, no property access; the only calls are the three
 * helpers Argo Rollouts templates use, `isNaN(x)`, `isInf(x)` and `default(x, value)`.
 *
 *   condition  := or
 *   or         := and (('||' | 'or') and)*
 *   and        := comparison (('&&' | 'and') comparison)*
 *   comparison := sum (('<' | '<=' | '>' | '>=' | '==' | '!=') sum)?
 *   sum        := product (('+' | '-') product)*
 *   product    := unary (('*' | '/') unary)*
 *   unary      := ('-' | '!' | 'not') unary | primary
 *   primary    := number | 'result' | 'baseline' | 'sampleSize' | 'true' | 'false' | '(' condition ')'
 *               | ('isNaN' | 'isInf') '(' or ')' | 'default' '(' or ',' or ')'   (each argument a number)
 *
 * Every node is typed (number or boolean) at parse time, so `result + 1` or `result && true` is refused
 * when the policy loads rather than when a rollout is waiting on it.
 *
 * Numbers are IEEE doubles: an infinity is a value (`+Inf` compares greater than any threshold), while
 * NaN stands for "no data": a variable with no value (nothing measured, or NaN such as 0/0) is NaN, which
 * only `isNaN` and `default` can see; any comparison that meets it cannot be decided.
 */

export const conditionVariables = ['result', 'baseline', 'sampleSize'] as const;
export type ConditionVariable = (typeof conditionVariables)[number];

export const maxConditionLength = 500;
export const maxConditionDepth = 32;

export const conditionFunctions = ['isNaN', 'isInf', 'default'] as const;
export type ConditionFunction = (typeof conditionFunctions)[number];

/** How many numbers each helper takes. */
const arity: Record<ConditionFunction, number> = { isNaN: 1, isInf: 1, default: 2 };

type ArithmeticOp = '+' | '-' | '*' | '/';
type ComparisonOp = '<' | '<=' | '>' | '>=' | '==' | '!=';

export type ConditionNode =
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'variable'; name: ConditionVariable }
  | { kind: 'negate'; operand: ConditionNode }
  | { kind: 'not'; operand: ConditionNode }
  | { kind: 'arithmetic'; op: ArithmeticOp; left: ConditionNode; right: ConditionNode }
  | { kind: 'compare'; op: ComparisonOp; left: ConditionNode; right: ConditionNode }
  | { kind: 'logical'; op: 'and' | 'or'; left: ConditionNode; right: ConditionNode }
  | { kind: 'call'; fn: ConditionFunction; args: ConditionNode[] };

/** A parsed condition: plain data, so it can be logged or carried as it is. */
export interface Condition {
  source: string;
  root: ConditionNode;
}

export type ParseResult = { ok: true; condition: Condition } | { ok: false; message: string };

export interface ConditionVars {
  result: number;
  baseline?: number;
  sampleSize?: number;
}

type TokenKind = 'number' | 'name' | 'op' | '(' | ')' | ',' | 'end';

interface Token {
  kind: TokenKind;
  text: string;
  /** 1-based column, as an editor shows it. */
  at: number;
  value?: number;
}

class ParseError extends Error {}

function fail(at: number, message: string): never {
  throw new ParseError(`at ${at}: ${message}`);
}

const operators = ['<=', '>=', '==', '!=', '&&', '||', '<', '>', '+', '-', '*', '/', '!'];
const numberPattern = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
const namePattern = /^[A-Za-z_][A-Za-z0-9_]*/;
const keywords = new Set(['and', 'or', 'not', 'true', 'false']);
const allowedNames =
  '`result`, `baseline`, `sampleSize` and the helpers `isNaN(x)`, `isInf(x)`, `default(x, value)`';
const operandChoices = 'a number, `result`, `baseline`, `sampleSize`, a helper call or `(`';
const isFunctionName = (name: string): name is ConditionFunction =>
  (conditionFunctions as readonly string[]).includes(name);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const at = i + 1;
    const rest = text.slice(i);
    const num = numberPattern.exec(rest);
    if (num) {
      const after = rest[num[0].length];
      if (after !== undefined && /[A-Za-z0-9_.]/.test(after)) {
        fail(at, `malformed number \`${rest.slice(0, num[0].length + 1)}\``);
      }
      const value = Number(num[0]);
      if (!Number.isFinite(value)) fail(at, `number \`${num[0]}\` is too large`);
      tokens.push({ kind: 'number', text: num[0], at, value });
      i += num[0].length;
      continue;
    }
    const name = namePattern.exec(rest);
    if (name) {
      if (
        !keywords.has(name[0]) &&
        !isFunctionName(name[0]) &&
        !(conditionVariables as readonly string[]).includes(name[0])
      ) {
        fail(at, `unknown name \`${name[0]}\`; a condition may use ${allowedNames}`);
      }
      tokens.push({ kind: 'name', text: name[0], at });
      i += name[0].length;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ kind: ch, text: ch, at });
      i++;
      continue;
    }
    const op = operators.find((o) => rest.startsWith(o));
    if (op) {
      tokens.push({ kind: 'op', text: op, at });
      i += op.length;
      continue;
    }
    if (ch === '=') fail(at, '`=` is not an operator; compare with `==`');
    if (ch === '&') fail(at, 'write `&&` or `and`');
    if (ch === '|') fail(at, 'write `||` or `or`');
    if (ch === '[') fail(at, '`result` is a single number here; write `result`, not `result[0]`');
    fail(at, `unexpected character \`${ch}\``);
  }
  tokens.push({ kind: 'end', text: '', at: text.length + 1 });
  return tokens;
}

const shown = (t: Token): string => (t.kind === 'end' ? 'the end' : `\`${t.text}\``);

type Typed = { node: ConditionNode; type: 'number' | 'boolean'; at: number; text: string };

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  parse(): ConditionNode {
    const first = this.peek();
    if (first.kind === 'end') fail(first.at, 'the condition is empty; write one such as `result <= 0.01`');
    const top = this.or();
    const next = this.peek();
    if (next.kind !== 'end') {
      const hint = next.kind === ')' ? ' (no `(` opened it)' : '';
      fail(next.at, `expected an operator or the end, found ${shown(next)}${hint}`);
    }
    if (top.type !== 'boolean') {
      fail(
        top.at,
        `\`${top.text}\` is a number, but a condition must be true or false; compare it, e.g. \`${top.text} <= 0.01\``,
      );
    }
    return top.node;
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private take(): Token {
    return this.tokens[this.pos++]!;
  }

  /** Whether the next token is one of the given operators or keywords (`and`, `or`, `not`). */
  private isOp(...ops: string[]): boolean {
    const t = this.peek();
    return (t.kind === 'op' || t.kind === 'name') && ops.includes(t.text);
  }

  private span(from: Typed, to: Typed): string {
    return this.source.slice(from.at - 1, to.at - 1 + to.text.length).trim();
  }

  private expect(operand: Typed, type: 'number' | 'boolean', op: Token): void {
    if (operand.type === type) return;
    const want = type === 'number' ? 'a number' : 'true or false';
    const got = operand.type === 'number' ? 'a number' : 'true or false';
    fail(operand.at, `\`${op.text}\` needs ${want}, but \`${operand.text}\` is ${got}`);
  }

  private or(): Typed {
    let left = this.and();
    while (this.isOp('||', 'or')) {
      const op = this.take();
      const right = this.and();
      this.expect(left, 'boolean', op);
      this.expect(right, 'boolean', op);
      left = {
        node: { kind: 'logical', op: 'or', left: left.node, right: right.node },
        type: 'boolean',
        at: left.at,
        text: this.span(left, right),
      };
    }
    return left;
  }

  private and(): Typed {
    let left = this.comparison();
    while (this.isOp('&&', 'and')) {
      const op = this.take();
      const right = this.comparison();
      this.expect(left, 'boolean', op);
      this.expect(right, 'boolean', op);
      left = {
        node: { kind: 'logical', op: 'and', left: left.node, right: right.node },
        type: 'boolean',
        at: left.at,
        text: this.span(left, right),
      };
    }
    return left;
  }

  private comparison(): Typed {
    const left = this.sum();
    if (!this.isOp('<', '<=', '>', '>=', '==', '!=')) return left;
    const op = this.take();
    const right = this.sum();
    if (op.text === '==' || op.text === '!=') {
      if (left.type !== right.type) {
        fail(
          op.at,
          `\`${op.text}\` compares \`${left.text}\` and \`${right.text}\`, which are of different kinds`,
        );
      }
    } else {
      this.expect(left, 'number', op);
      this.expect(right, 'number', op);
    }
    if (this.isOp('<', '<=', '>', '>=', '==', '!=')) {
      fail(this.peek().at, 'comparisons do not chain; write `a < b && b < c`');
    }
    return {
      node: { kind: 'compare', op: op.text as ComparisonOp, left: left.node, right: right.node },
      type: 'boolean',
      at: left.at,
      text: this.span(left, right),
    };
  }

  private sum(): Typed {
    let left = this.product();
    while (this.isOp('+', '-')) {
      left = this.arithmetic(left, this.take(), this.product());
    }
    return left;
  }

  private product(): Typed {
    let left = this.unary();
    while (this.isOp('*', '/')) {
      left = this.arithmetic(left, this.take(), this.unary());
    }
    return left;
  }

  private arithmetic(left: Typed, op: Token, right: Typed): Typed {
    this.expect(left, 'number', op);
    this.expect(right, 'number', op);
    return {
      node: { kind: 'arithmetic', op: op.text as ArithmeticOp, left: left.node, right: right.node },
      type: 'number',
      at: left.at,
      text: this.span(left, right),
    };
  }

  private unary(): Typed {
    if (!this.isOp('-', '!', 'not')) return this.primary();
    const op = this.take();
    this.enter(op);
    const operand = this.unary();
    this.depth--;
    const negate = op.text === '-';
    if (!negate && operand.type === 'number') {
      fail(
        operand.at,
        `\`${op.text}\` needs true or false, but \`${operand.text}\` is a number; negate a comparison in parentheses, e.g. \`${op.text === 'not' ? 'not ' : '!'}(result > 0.05)\``,
      );
    }
    this.expect(operand, negate ? 'number' : 'boolean', op);
    return {
      node: negate ? { kind: 'negate', operand: operand.node } : { kind: 'not', operand: operand.node },
      type: negate ? 'number' : 'boolean',
      at: op.at,
      text: this.source.slice(op.at - 1, operand.at - 1 + operand.text.length).trim(),
    };
  }

  private primary(): Typed {
    const t = this.take();
    if (t.kind === 'number') {
      return { node: { kind: 'number', value: t.value ?? 0 }, type: 'number', at: t.at, text: t.text };
    }
    if (t.kind === 'name') {
      if (t.text === 'true' || t.text === 'false') {
        return {
          node: { kind: 'boolean', value: t.text === 'true' },
          type: 'boolean',
          at: t.at,
          text: t.text,
        };
      }
      if ((conditionVariables as readonly string[]).includes(t.text)) {
        const name = t.text as ConditionVariable;
        return { node: { kind: 'variable', name }, type: 'number', at: t.at, text: t.text };
      }
      if (isFunctionName(t.text)) return this.call(t);
      // Names are checked as they are read, so this is a keyword out of place.
      fail(t.at, `expected ${operandChoices}, found \`${t.text}\``);
    }
    if (t.kind === '(') {
      this.enter(t);
      const inner = this.or();
      this.depth--;
      const close = this.take();
      if (close.kind !== ')') {
        fail(close.at, `expected \`)\` to close the \`(\` at ${t.at}, found ${shown(close)}`);
      }
      return { ...inner, at: t.at, text: this.source.slice(t.at - 1, close.at).trim() };
    }
    return fail(t.at, `expected ${operandChoices}, found ${shown(t)}`);
  }

  /** `isNaN(x)`, `isInf(x)` or `default(x, value)`: each argument a number. */
  private call(name: Token): Typed {
    const fn = name.text as ConditionFunction;
    const usage = fn === 'default' ? '`default(result, 0)`' : `\`${fn}(result)\``;
    const open = this.take();
    if (open.kind !== '(') fail(name.at, `\`${fn}\` is a helper; call it, e.g. ${usage}`);
    this.enter(open);
    const args: Typed[] = [];
    for (;;) {
      const arg = this.or();
      this.expect(arg, 'number', name);
      args.push(arg);
      const next = this.take();
      if (next.kind === ')') {
        this.depth--;
        if (args.length !== arity[fn]) {
          fail(
            name.at,
            `\`${fn}\` takes ${arity[fn]} number${arity[fn] > 1 ? 's' : ''}, got ${args.length}; e.g. ${usage}`,
          );
        }
        return {
          node: { kind: 'call', fn, args: args.map((a) => a.node) },
          type: fn === 'default' ? 'number' : 'boolean',
          at: name.at,
          text: this.source.slice(name.at - 1, next.at).trim(),
        };
      }
      if (next.kind !== ',') {
        fail(next.at, `expected \`,\` or \`)\` in the call of \`${fn}\`, found ${shown(next)}`);
      }
    }
  }

  private enter(t: Token): void {
    if (++this.depth > maxConditionDepth) fail(t.at, `nested more than ${maxConditionDepth} levels deep`);
  }
}

/** Parses and type-checks a condition; the message names the column and what was expected there. */
export function parseCondition(text: string): ParseResult {
  if (text.length > maxConditionLength) {
    return {
      ok: false,
      message: `is ${text.length} characters long; a condition may hold at most ${maxConditionLength}`,
    };
  }
  try {
    const root = new Parser(tokenize(text), text).parse();
    return { ok: true, condition: { source: text, root } };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, message: e.message };
    throw e;
  }
}

/**
 * Evaluates a condition. `undefined` means it cannot be decided: a comparison meets NaN (a variable with
 * no value, or arithmetic such as `Inf - Inf`), or the arithmetic divides by zero. Infinities compare as
 * numbers do. `and`/`or` follow three-valued logic, so an unknown side matters only when the answer
 * depends on it (`false and ?` is false, `true or ?` true).
 */
export function evaluateCondition(condition: Condition, vars: ConditionVars): boolean | undefined {
  const value = evaluate(condition.root, vars);
  return typeof value === 'boolean' ? value : undefined;
}

function evaluate(node: ConditionNode, vars: ConditionVars): number | boolean | undefined {
  switch (node.kind) {
    case 'number':
    case 'boolean':
      return node.value;
    case 'variable': {
      // No value is NaN: only isNaN and default can tell anything from it.
      const v = vars[node.name];
      return typeof v === 'number' ? v : Number.NaN;
    }
    case 'negate': {
      const v = evaluate(node.operand, vars);
      return typeof v === 'number' ? -v : undefined;
    }
    case 'not': {
      const v = evaluate(node.operand, vars);
      return typeof v === 'boolean' ? !v : undefined;
    }
    case 'arithmetic': {
      const l = evaluate(node.left, vars);
      const r = evaluate(node.right, vars);
      if (typeof l !== 'number' || typeof r !== 'number') return undefined;
      // A ratio against zero (blue had no errors) says nothing either way: undecided, not +Inf.
      if (node.op === '/' && r === 0) return undefined;
      return node.op === '+' ? l + r : node.op === '-' ? l - r : node.op === '*' ? l * r : l / r;
    }
    case 'compare': {
      const l = evaluate(node.left, vars);
      const r = evaluate(node.right, vars);
      if (l === undefined || r === undefined) return undefined;
      if (typeof l === 'number' && typeof r === 'number' && (Number.isNaN(l) || Number.isNaN(r))) {
        return undefined;
      }
      switch (node.op) {
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
      }
      return undefined;
    }
    case 'logical': {
      const l = evaluate(node.left, vars);
      const r = evaluate(node.right, vars);
      const decisive = node.op === 'and' ? false : true;
      if (l === decisive || r === decisive) return decisive;
      if (typeof l !== 'boolean' || typeof r !== 'boolean') return undefined;
      return !decisive;
    }
    case 'call': {
      const [x, fallback] = node.args.map((a) => evaluate(a, vars));
      if (typeof x !== 'number') return undefined;
      switch (node.fn) {
        case 'isNaN':
          return Number.isNaN(x);
        case 'isInf':
          return x === Infinity || x === -Infinity;
        case 'default':
          return Number.isNaN(x) ? (typeof fallback === 'number' ? fallback : undefined) : x;
      }
      return undefined;
    }
  }
}

/** The variables a condition mentions: a gate measures the baseline only when a condition needs it. */
export function conditionUses(condition: Condition): Set<ConditionVariable> {
  const used = new Set<ConditionVariable>();
  const walk = (node: ConditionNode): void => {
    switch (node.kind) {
      case 'variable':
        used.add(node.name);
        return;
      case 'negate':
      case 'not':
        walk(node.operand);
        return;
      case 'arithmetic':
      case 'compare':
      case 'logical':
        walk(node.left);
        walk(node.right);
        return;
      case 'call':
        node.args.forEach(walk);
        return;
      default:
        return;
    }
  };
  walk(condition.root);
  return used;
}
