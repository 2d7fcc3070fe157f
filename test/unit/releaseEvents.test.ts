import { parseMemberReport, parseReleaseCommand } from '../../src/domain/release';

describe('events between a release and its members', () => {
  it('reads the commands a release sends', () => {
    expect(parseReleaseCommand({ action: 'promote' })).toEqual({ ok: true, value: { action: 'promote' } });
    expect(parseReleaseCommand({ action: 'step', step: 2 })).toEqual({
      ok: true,
      value: { action: 'step', step: 2 },
    });
    expect(parseReleaseCommand({ action: 'finish' })).toEqual({ ok: true, value: { action: 'finish' } });
  });

  it.each([
    [null, /\(payload\)/],
    [{ action: 'jump' }, /action must be 'promote', 'step' or 'finish'/],
    [{ action: 'step' }, /step: /],
    [{ action: 'step', step: -1 }, /step: must be 0 or more/],
    [{ action: 'step', step: 1.5 }, /step: must be a whole number/],
    [{ action: 'promote', by: 'x' }, /by/],
  ])('refuses command %j, naming the field', (payload, problem) => {
    const parsed = parseReleaseCommand(payload);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.problem).toMatch(/^malformed 'releaseCommand' event ignored: /);
      expect(parsed.problem).toMatch(problem);
    }
  });

  it('reads the reports a member sends', () => {
    const member = { app: 'api', rolloutId: 'shop-1:api' };
    for (const report of [
      { kind: 'validated', ...member, green: 'api--v2' },
      { kind: 'validated', ...member, approvalNeeded: ['gate latency inconclusive'] },
      { kind: 'stepDone', ...member, step: 0 },
      { kind: 'promoted', ...member },
      { kind: 'watched', ...member },
      { kind: 'succeeded', ...member },
      {
        kind: 'finished',
        ...member,
        outcome: 'RollbackFailed',
        reason: 'x',
        leftToDo: ['y'],
        promoted: true,
      },
    ]) {
      expect(parseMemberReport(report)).toEqual({ ok: true, value: report });
    }
  });

  it.each([
    [{ kind: 'validated' }, /app: /],
    [{ kind: 'bogus', app: 'api', rolloutId: 'r' }, /kind must be/],
    [{ kind: 'finished', app: 'api', rolloutId: 'r', outcome: 'Maybe', promoted: false }, /outcome: must be/],
    [{ kind: 'finished', app: 'api', rolloutId: 'r', outcome: 'RolledBack' }, /promoted: /],
    [{ kind: 'promoted', app: '', rolloutId: 'r' }, /app: must not be empty/],
  ])('refuses report %j, naming the field', (payload, problem) => {
    const parsed = parseMemberReport(payload);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.problem).toMatch(/^malformed 'memberReport' event ignored: /);
      expect(parsed.problem).toMatch(problem);
    }
  });
});
