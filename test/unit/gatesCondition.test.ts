import {
  conditionUses,
  evaluateCondition,
  maxConditionDepth,
  maxConditionLength,
  parseCondition,
  type Condition,
  type ConditionVars,
} from '../../src/domain/gates/condition';

function parsed(text: string): Condition {
  const r = parseCondition(text);
  if (!r.ok) throw new Error(`'${text}' did not parse: ${r.message}`);
  return r.condition;
}

function messageOf(text: string): string {
  const r = parseCondition(text);
  if (r.ok) throw new Error(`'${text}' parsed`);
  return r.message;
}

const evaluate = (text: string, vars: ConditionVars) => evaluateCondition(parsed(text), vars);

describe('gate conditions parse to a typed tree', () => {
  it.each([
    'result <= 0.01',
    'result < .5',
    'result <= 1e-3',
    'result >= 2.5E+2',
    'result <= baseline * 1.2',
    'result - baseline < 0.005',
    'sampleSize >= 100 && result < 0.01',
    'sampleSize >= 100 and result < 0.01',
    'result > 0.05 || baseline > 0.05',
    'result > 0.05 or baseline > 0.05',
    '!(result > 0.05)',
    'not (result > 0.05)',
    '-result > -1',
    '((result)) == 0',
    'true',
    'false || result != 3',
    '(result < 1) == true',
  ])('accepts %s', (text) => expect(parseCondition(text).ok).toBe(true));

  it.each([
    [
      'latency < 1',
      'at 1: unknown name `latency`; a condition may use `result`, `baseline`, `sampleSize` and the helpers `isNaN(x)`, `isInf(x)`, `default(x, value)`',
    ],
    [
      'result <= Baseline',
      'at 11: unknown name `Baseline`; a condition may use `result`, `baseline`, `sampleSize` and the helpers `isNaN(x)`, `isInf(x)`, `default(x, value)`',
    ],
    [
      'result <',
      'at 9: expected a number, `result`, `baseline`, `sampleSize`, a helper call or `(`, found the end',
    ],
    [
      'result <= )',
      'at 11: expected a number, `result`, `baseline`, `sampleSize`, a helper call or `(`, found `)`',
    ],
    [
      'result < 1 &&',
      'at 14: expected a number, `result`, `baseline`, `sampleSize`, a helper call or `(`, found the end',
    ],
    [
      'result * < 2',
      'at 10: expected a number, `result`, `baseline`, `sampleSize`, a helper call or `(`, found `<`',
    ],
    ['(result < 1', 'at 12: expected `)` to close the `(` at 1, found the end'],
    ['((result < 1)', 'at 14: expected `)` to close the `(` at 1, found the end'],
    ['result < 1)', 'at 11: expected an operator or the end, found `)` (no `(` opened it)'],
    ['result < 1 result', 'at 12: expected an operator or the end, found `result`'],
    [
      'result + 1',
      'at 1: `result + 1` is a number, but a condition must be true or false; compare it, e.g. `result + 1 <= 0.01`',
    ],
    ['42', 'at 1: `42` is a number, but a condition must be true or false; compare it, e.g. `42 <= 0.01`'],
    ['result && true', 'at 1: `&&` needs true or false, but `result` is a number'],
    ['result < 1 or 2', 'at 15: `or` needs true or false, but `2` is a number'],
    ['(result < 1) + 1 > 0', 'at 1: `+` needs a number, but `(result < 1)` is true or false'],
    [
      '!result',
      'at 2: `!` needs true or false, but `result` is a number; negate a comparison in parentheses, e.g. `!(result > 0.05)`',
    ],
    [
      'not result < 1',
      'at 5: `not` needs true or false, but `result` is a number; negate a comparison in parentheses, e.g. `not (result > 0.05)`',
    ],
    ['true == 1', 'at 6: `==` compares `true` and `1`, which are of different kinds'],
    ['result < 1 < 2', 'at 12: comparisons do not chain; write `a < b && b < c`'],
    ['result = 1', 'at 8: `=` is not an operator; compare with `==`'],
    ['result & 1', 'at 8: write `&&` or `and`'],
    ['result | 1', 'at 8: write `||` or `or`'],
    ['result[0] >= 0.99', 'at 7: `result` is a single number here; write `result`, not `result[0]`'],
    ['1.2.3 > result', 'at 1: malformed number `1.2.`'],
    ['result < 2e', 'at 10: malformed number `2e`'],
    ['result < 1e999', 'at 10: number `1e999` is too large'],
    ['result > $x', 'at 10: unexpected character `$`'],
    ['and', 'at 1: expected a number, `result`, `baseline`, `sampleSize`, a helper call or `(`, found `and`'],
    ['', 'at 1: the condition is empty; write one such as `result <= 0.01`'],
  ])('refuses %p: %s', (text, message) => expect(messageOf(text)).toBe(message));

  it('refuses code, whatever it looks like', () => {
    expect(messageOf('process.exit(1) || result < 1')).toBe(
      'at 1: unknown name `process`; a condition may use `result`, `baseline`, `sampleSize` and the helpers `isNaN(x)`, `isInf(x)`, `default(x, value)`',
    );
    expect(messageOf('constructor.constructor("x")()')).toMatch(/^at 1: unknown name `constructor`/);
    expect(messageOf('result < 1; result > 0')).toBe('at 11: unexpected character `;`');
    expect(messageOf("result < '1'")).toBe("at 10: unexpected character `'`");
  });

  it('bounds length and nesting', () => {
    const long = `result < ${'1'.repeat(maxConditionLength)}`;
    expect(messageOf(long)).toBe(
      `is ${long.length} characters long; a condition may hold at most ${maxConditionLength}`,
    );
    const deep = `${'('.repeat(maxConditionDepth + 1)}result < 1${')'.repeat(maxConditionDepth + 1)}`;
    expect(messageOf(deep)).toBe(
      `at ${maxConditionDepth + 1}: nested more than ${maxConditionDepth} levels deep`,
    );
    expect(messageOf(`${'-'.repeat(maxConditionDepth + 1)}result < 1`)).toMatch(/nested more than/);
    const atLimit = `${'('.repeat(maxConditionDepth)}result < 1${')'.repeat(maxConditionDepth)}`;
    expect(parseCondition(atLimit).ok).toBe(true);
  });
});

describe('gate conditions evaluate without ever passing silently', () => {
  it('applies precedence: * and / before + and -, comparisons before and, and before or', () => {
    expect(evaluate('result <= 1 + 2 * 3', { result: 7 })).toBe(true);
    expect(evaluate('result <= (1 + 2) * 3', { result: 10 })).toBe(false);
    expect(evaluate('result == 8 / 4 / 2', { result: 1 })).toBe(true);
    expect(evaluate('result == 8 - 4 - 2', { result: 2 })).toBe(true);
    expect(evaluate('result == -2 * -3', { result: 6 })).toBe(true);
    expect(evaluate('true or false and false', { result: 0 })).toBe(true);
    expect(evaluate('(true or false) and false', { result: 0 })).toBe(false);
    expect(evaluate('!false && !(result > 1)', { result: 0 })).toBe(true);
    expect(evaluate('(result < 1) != (result < 2)', { result: 1.5 })).toBe(true);
  });

  it('compares against the baseline when there is one, and cannot decide without it', () => {
    const text = 'result <= baseline * 1.2';
    expect(evaluate(text, { result: 0.011, baseline: 0.01 })).toBe(true);
    expect(evaluate(text, { result: 0.013, baseline: 0.01 })).toBe(false);
    expect(evaluate(text, { result: 0.011 })).toBeUndefined();
  });

  it('cannot decide a division by zero, NaN, or arithmetic that gives no number', () => {
    expect(evaluate('result / baseline < 2', { result: 1, baseline: 0 })).toBeUndefined();
    expect(evaluate('result / 0 < 2', { result: 0 })).toBeUndefined();
    expect(evaluate('result < 1', { result: Number.NaN })).toBeUndefined();
    expect(evaluate('result == result', { result: Number.NaN })).toBeUndefined();
    expect(evaluate('result - result < 1', { result: Number.POSITIVE_INFINITY })).toBeUndefined();
    expect(evaluate('!(result / 0 < 2)', { result: 1 })).toBeUndefined();
  });

  it('compares infinities as numbers: +Inf is above every threshold, -Inf below', () => {
    expect(evaluate('result < 0.5', { result: Number.POSITIVE_INFINITY })).toBe(false);
    expect(evaluate('result > 0.5', { result: Number.POSITIVE_INFINITY })).toBe(true);
    expect(evaluate('result < 0.5', { result: Number.NEGATIVE_INFINITY })).toBe(true);
    expect(evaluate('result <= baseline * 1.2', { result: Number.POSITIVE_INFINITY, baseline: 1 })).toBe(
      false,
    );
    // Overflow is an infinity, as in IEEE arithmetic (and Argo's Go), not an unknown.
    expect(evaluate('result * 1e308 * 10 > 0', { result: 1 })).toBe(true);
    expect(evaluate('-result < 0', { result: Number.POSITIVE_INFINITY })).toBe(true);
  });

  it('has isNaN, isInf and default, as Argo templates use them', () => {
    const nan = { result: Number.NaN };
    expect(evaluate('isNaN(result)', nan)).toBe(true);
    expect(evaluate('isNaN(result)', { result: 1 })).toBe(false);
    expect(evaluate('isNaN(result)', { result: Number.POSITIVE_INFINITY })).toBe(false);
    expect(evaluate('isInf(result)', { result: Number.POSITIVE_INFINITY })).toBe(true);
    expect(evaluate('isInf(result)', { result: Number.NEGATIVE_INFINITY })).toBe(true);
    expect(evaluate('isInf(result)', { result: 1e308 })).toBe(false);
    expect(evaluate('isInf(result)', nan)).toBe(false);
    expect(evaluate('default(result, 0) < 0.5', nan)).toBe(true);
    expect(evaluate('default(result, 1) < 0.5', nan)).toBe(false);
    expect(evaluate('default(result, 0) < 0.5', { result: 0.7 })).toBe(false);
    expect(evaluate('isNaN(result) || result < 0.05', nan)).toBe(true);
    expect(evaluate('!isInf(result) && result < 0.5', { result: Number.POSITIVE_INFINITY })).toBe(false);
    // An absent variable is NaN to the helpers: no baseline measured.
    expect(evaluate('isNaN(baseline)', { result: 0 })).toBe(true);
    expect(evaluate('result <= default(baseline, 0.01) * 1.2', { result: 0.011 })).toBe(true);
    expect(evaluate('isNaN(result / 0)', { result: 1 })).toBeUndefined();
    expect([...conditionUses(parsed('default(baseline, 0) > 1'))]).toEqual(['baseline']);
  });

  it.each([
    ['isNaN', 'at 1: `isNaN` is a helper; call it, e.g. `isNaN(result)`'],
    ['isNaN(result, 1)', 'at 1: `isNaN` takes 1 number, got 2; e.g. `isNaN(result)`'],
    ['default(result) < 1', 'at 1: `default` takes 2 numbers, got 1; e.g. `default(result, 0)`'],
    ['isNaN(result < 1)', 'at 7: `isNaN` needs a number, but `result < 1` is true or false'],
    [
      'default(result, 0)',
      'at 1: `default(result, 0)` is a number, but a condition must be true or false; compare it, e.g. `default(result, 0) <= 0.01`',
    ],
    ['isInf(result) < 1', 'at 1: `<` needs a number, but `isInf(result)` is true or false'],
    ['isNaN(result', 'at 13: expected `,` or `)` in the call of `isNaN`, found the end'],
    [
      'isnan(result)',
      'at 1: unknown name `isnan`; a condition may use `result`, `baseline`, `sampleSize` and the helpers `isNaN(x)`, `isInf(x)`, `default(x, value)`',
    ],
    ['result < 1, 2', 'at 11: expected an operator or the end, found `,`'],
  ])('refuses the helper misused %p: %s', (text, message) => expect(messageOf(text)).toBe(message));

  it('lets an unknown side matter only when the answer depends on it', () => {
    const gated = 'sampleSize >= 100 && result < 0.01';
    expect(evaluate(gated, { result: 0.005, sampleSize: 500 })).toBe(true);
    expect(evaluate(gated, { result: 0.005 })).toBeUndefined();
    expect(evaluate(gated, { result: 0.5 })).toBe(false);
    expect(evaluate('result < 0.01 || baseline > 1', { result: 0 })).toBe(true);
    expect(evaluate('result < 0.01 || baseline > 1', { result: 1 })).toBeUndefined();
  });

  it('names the variables a condition uses', () => {
    expect([...conditionUses(parsed('result <= baseline * 1.2'))].sort()).toEqual(['baseline', 'result']);
    expect([...conditionUses(parsed('sampleSize > 10 and not (result > 1)'))].sort()).toEqual([
      'result',
      'sampleSize',
    ]);
    expect(conditionUses(parsed('true')).size).toBe(0);
  });
});
