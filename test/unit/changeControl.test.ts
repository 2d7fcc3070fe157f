import fc from 'fast-check';
import {
  admission,
  blockersAt,
  mayChangeProduction,
  newEmergencyStop,
  nextOpening,
  parseChangeControl,
  parseGlobalChangeControl,
  parseOverride,
  stopsFor,
  type ChangeControlRules,
  type EmergencyStop,
} from '../../src/domain/changeControl';
import { errorCode } from '../../src/domain/errors';
import { parsePolicies } from '../../src/domain/policy';

function rules(raw: unknown, layer: 'policy' | 'global' = 'policy'): ChangeControlRules {
  const parsed = parseChangeControl(raw, layer);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.rules;
}

const at = (iso: string) => new Date(iso);
const amsterdamWeekdays = {
  windows: [{ days: 'Mon-Thu', start: '09:00', end: '17:00', timeZone: 'Europe/Amsterdam' }],
};

describe('deploy windows across time zones and daylight saving', () => {
  it('is open inside the window, in the window’s own zone', () => {
    // Tuesday 2026-06-16 10:30 in Amsterdam (CEST, UTC+2) is 08:30Z.
    const r = rules(amsterdamWeekdays);
    expect(admission(at('2026-06-16T08:30:00Z'), r, undefined)).toMatchObject({
      verdict: 'open',
      rule: 'open',
    });
    // 06:59Z is 08:59 local: still closed.
    expect(admission(at('2026-06-16T06:59:00Z'), r, undefined).verdict).toBe('wait');
    // 15:00Z is 17:00 local: the end is exclusive.
    expect(admission(at('2026-06-16T15:00:00Z'), r, undefined).verdict).toBe('wait');
  });

  it('waits from Friday to Monday 09:00 across the spring-forward weekend (UTC+1 then UTC+2)', () => {
    // Friday 2026-03-27 12:00 CET; clocks go forward on Sunday 2026-03-29; Monday 09:00 CEST is 07:00Z.
    const v = admission(at('2026-03-27T11:00:00Z'), rules(amsterdamWeekdays), undefined);
    expect(v).toMatchObject({ verdict: 'wait', until: '2026-03-30T07:00:00.000Z', rule: 'policy.windows' });
    expect(v.reason).toContain('Mon-Thu 09:00-17:00 Europe/Amsterdam');
  });

  it('waits from Friday to Monday 09:00 across the fall-back weekend (UTC+2 then UTC+1)', () => {
    // Clocks go back on Sunday 2026-10-25; Monday 09:00 CET is 08:00Z.
    const v = admission(at('2026-10-23T15:30:00Z'), rules(amsterdamWeekdays), undefined);
    expect(v).toMatchObject({ verdict: 'wait', until: '2026-10-26T08:00:00.000Z' });
  });

  it('follows US daylight saving, which changes on other dates than Europe', () => {
    const ny = rules({
      windows: [{ days: ['Mon', 'Tue', 'Wed'], start: '10:00', end: '16:00', timeZone: 'America/New_York' }],
    });
    // Saturday 2026-03-07 EST (UTC-5); DST starts Sunday 2026-03-08; Monday 10:00 EDT is 14:00Z.
    expect(nextOpening(Date.parse('2026-03-07T12:00:00Z'), [ny])).toBe(Date.parse('2026-03-09T14:00:00Z'));
    // A week earlier the same local time was 15:00Z.
    expect(nextOpening(Date.parse('2026-02-28T12:00:00Z'), [ny])).toBe(Date.parse('2026-03-02T15:00:00Z'));
  });

  it('opens a window whose start time is skipped by spring-forward when the clock jumps past it', () => {
    // Sunday 2026-03-29 in Amsterdam: 02:00 CET jumps to 03:00 CEST at 01:00Z; 02:30 never shows.
    const sunday = rules({
      windows: [{ days: 'Sun', start: '02:30', end: '05:00', timeZone: 'Europe/Amsterdam' }],
    });
    expect(nextOpening(Date.parse('2026-03-28T12:00:00Z'), [sunday])).toBe(
      Date.parse('2026-03-29T01:00:00Z'),
    );
  });

  it('opens at the first of the two 02:30s on a fall-back night', () => {
    // Sunday 2026-10-25: 02:30 CEST (00:30Z) and 02:30 CET (01:30Z) both show; the window opens at the first.
    const sunday = rules({
      windows: [{ days: 'Sun', start: '02:30', end: '04:00', timeZone: 'Europe/Amsterdam' }],
    });
    expect(nextOpening(Date.parse('2026-10-24T12:00:00Z'), [sunday])).toBe(
      Date.parse('2026-10-25T00:30:00Z'),
    );
    // Between the two (01:00Z is 02:00 CET, after the change) the window is open: the clock reads 02:00-02:59 again.
    expect(blockersAt(Date.parse('2026-10-25T01:45:00Z'), [sunday])).toEqual([]);
  });

  it('handles zones with half- and quarter-hour offsets', () => {
    const kolkata = rules({
      windows: [{ days: 'Mon-Fri', start: '09:00', end: '18:00', timeZone: 'Asia/Kolkata' }],
    });
    // Saturday 2026-05-02 -> Monday 09:00 IST (UTC+5:30) is 03:30Z.
    expect(nextOpening(Date.parse('2026-05-02T10:00:00Z'), [kolkata])).toBe(
      Date.parse('2026-05-04T03:30:00Z'),
    );
    const chatham = rules({
      windows: [{ days: 'Mon', start: '00:00', end: '01:00', timeZone: 'Pacific/Chatham' }],
    });
    // Chatham in May is UTC+12:45: Monday 2026-05-04 00:00 local is Sunday 11:15Z.
    expect(nextOpening(Date.parse('2026-05-01T00:00:00Z'), [chatham])).toBe(
      Date.parse('2026-05-03T11:15:00Z'),
    );
  });

  it('a window may end at 24:00 and the next day’s may start at 00:00: no gap at midnight', () => {
    const r = rules({
      timeZone: 'UTC',
      windows: [
        { days: 'Fri', start: '20:00', end: '24:00' },
        { days: 'Sat', start: '00:00', end: '02:00' },
      ],
    });
    expect(blockersAt(Date.parse('2026-06-05T23:59:59Z'), [r])).toEqual([]);
    expect(blockersAt(Date.parse('2026-06-06T00:00:00Z'), [r])).toEqual([]);
    expect(blockersAt(Date.parse('2026-06-06T02:00:00Z'), [r])).toHaveLength(1);
  });

  it('needs both the global and the policy windows open (the policy narrows the global hours)', () => {
    const global = rules(
      { windows: [{ days: 'Mon-Fri', start: '08:00', end: '18:00', timeZone: 'UTC' }] },
      'global',
    );
    const policy = rules({
      windows: [{ days: 'Tue', start: '17:00', end: '20:00', timeZone: 'Europe/Amsterdam' }],
    });
    // Tuesday 2026-06-16 17:00 CEST = 15:00Z: both open.
    expect(admission(at('2026-06-16T15:30:00Z'), policy, global).verdict).toBe('open');
    // 16:30Z is 18:30 CEST (policy open) but 16:30 UTC... still global-open; 18:05Z is global-closed.
    const v = admission(at('2026-06-16T16:05:00Z'), policy, global);
    expect(v.verdict).toBe('open');
    const late = admission(at('2026-06-16T18:05:00Z'), policy, global);
    expect(late).toMatchObject({
      verdict: 'wait',
      until: '2026-06-23T15:00:00.000Z',
      rule: 'global.windows',
    });
  });

  it('refuses to wait forever when the global and policy windows never meet', () => {
    const global = rules(
      { windows: [{ days: 'Mon', start: '08:00', end: '10:00', timeZone: 'UTC' }] },
      'global',
    );
    const policy = rules({ windows: [{ days: 'Tue', start: '08:00', end: '10:00', timeZone: 'UTC' }] });
    const v = admission(at('2026-06-15T12:00:00Z'), policy, global);
    expect(v.verdict).toBe('reject');
    expect(v.reason).toContain('does not open within a year');
  });

  it('property: the next opening is open, and no whole minute before it is', () => {
    const r = rules({
      windows: [
        { days: 'Mon-Thu', start: '09:00', end: '17:00', timeZone: 'Europe/Amsterdam' },
        { days: 'Sat', start: '02:15', end: '03:45', timeZone: 'America/New_York' },
      ],
      freezes: [{ name: 'f', start: '2026-10-20T00:00:00Z', end: '2026-10-27T10:00:00Z', reason: 'release' }],
    });
    const start = Date.parse('2026-03-01T00:00:00Z');
    const end = Date.parse('2026-11-30T00:00:00Z');
    fc.assert(
      fc.property(fc.integer({ min: start / 60_000, max: end / 60_000 }), (minute) => {
        const now = minute * 60_000;
        const opens = nextOpening(now, [r]);
        expect(opens).toBeDefined();
        expect(blockersAt(opens ?? 0, [r])).toEqual([]);
        for (let t = now; t < (opens ?? 0); t += 60_000) expect(blockersAt(t, [r]).length).toBeGreaterThan(0);
      }),
      { numRuns: 6 },
    );
  });
});

describe('freezes', () => {
  const freeze = (duringFreeze: string) =>
    rules({
      timeZone: 'Europe/Amsterdam',
      freezes: [
        { name: 'holidays', start: '2026-12-19', end: '2027-01-04T09:00', reason: 'year-end freeze' },
      ],
      duringFreeze,
    });
  const inFreeze = at('2026-12-24T10:00:00Z');

  it('wait: waits until the freeze ends (local time of its zone)', () => {
    const v = admission(inFreeze, freeze('wait'), undefined);
    expect(v).toMatchObject({
      verdict: 'wait',
      until: '2027-01-04T08:00:00.000Z',
      rule: 'policy.freeze:holidays',
    });
    expect(v.reason).toContain('year-end freeze');
  });

  it('reject: refuses the rollout, naming the freeze and its reason', () => {
    const v = admission(inFreeze, freeze('reject'), undefined);
    expect(v).toMatchObject({ verdict: 'reject', rule: 'policy.freeze:holidays' });
    expect(v.reason).toContain('year-end freeze');
    expect(v.until).toBeUndefined();
  });

  it('run: runs outside and says so', () => {
    expect(admission(inFreeze, freeze('run'), undefined)).toMatchObject({
      verdict: 'run-outside',
      rule: 'policy.freeze:holidays',
    });
  });

  it('before and after the freeze production is open', () => {
    expect(admission(at('2026-12-18T22:59:59Z'), freeze('reject'), undefined).verdict).toBe('open');
    expect(admission(at('2027-01-04T08:00:00Z'), freeze('reject'), undefined).verdict).toBe('open');
  });

  it('a global freeze holds every app; the policy says what its rollouts do', () => {
    const global = rules(
      {
        freezes: [
          { start: '2026-12-24T00:00:00Z', end: '2026-12-27T00:00:00Z', reason: 'holidays', name: 'xmas' },
        ],
      },
      'global',
    );
    const policy = rules({ duringFreeze: 'reject' });
    expect(admission(inFreeze, policy, global)).toMatchObject({
      verdict: 'reject',
      rule: 'global.freeze:xmas',
    });
    expect(admission(inFreeze, undefined, global)).toMatchObject({
      verdict: 'wait',
      until: '2026-12-27T00:00:00.000Z',
    });
  });

  it('a freeze ending outside the windows waits on for the next window', () => {
    const r = rules({
      windows: [{ days: 'Mon-Fri', start: '09:00', end: '17:00', timeZone: 'UTC' }],
      freezes: [{ start: '2026-06-01T00:00:00Z', end: '2026-06-05T18:00:00Z', reason: 'migration' }],
    });
    // The freeze ends Friday 18:00 (after the window): next opening is Monday 09:00.
    expect(admission(at('2026-06-03T10:00:00Z'), r, undefined).until).toBe('2026-06-08T09:00:00.000Z');
  });

  it('a running rollout reaching a promotion step in a freeze pauses until it ends, even when the policy rejects new ones', () => {
    const gate = mayChangeProduction(inFreeze, freeze('reject'), undefined);
    expect(gate).toMatchObject({ allowed: false, verdict: 'pause', until: '2027-01-04T08:00:00.000Z' });
    expect(mayChangeProduction(inFreeze, freeze('run'), undefined)).toMatchObject({
      allowed: true,
      verdict: 'run-outside',
    });
    expect(mayChangeProduction(at('2027-02-01T10:00:00Z'), freeze('wait'), undefined)).toMatchObject({
      allowed: true,
      verdict: 'open',
    });
  });
});

describe('override', () => {
  const frozen = rules({
    freezes: [
      { name: 'incident', start: '2026-06-01T00:00:00Z', end: '2026-06-30T00:00:00Z', reason: 'INC-7' },
    ],
    duringFreeze: 'reject',
  });
  const now = at('2026-06-10T12:00:00Z');

  it('a named caller lets one rollout through a freeze, recorded with the reason', () => {
    const parsed = parseOverride({ reason: 'hotfix for INC-42', rolloutId: 'r-1' }, 'alice@contoso.com', now);
    if (!parsed.ok) throw new Error(parsed.problems.join());
    const v = admission(now, frozen, undefined, { override: parsed.override, rolloutId: 'r-1' });
    expect(v).toMatchObject({
      verdict: 'run-outside',
      rule: 'override',
      override: { by: 'alice@contoso.com', reason: 'hotfix for INC-42', at: '2026-06-10T12:00:00.000Z' },
    });
    expect(
      mayChangeProduction(now, frozen, undefined, { override: parsed.override, rolloutId: 'r-1' }).allowed,
    ).toBe(true);
  });

  it('an override for another rollout does not apply', () => {
    const parsed = parseOverride({ reason: 'hotfix', rolloutId: 'r-1' }, 'alice', now);
    if (!parsed.ok) throw new Error('refused');
    expect(admission(now, frozen, undefined, { override: parsed.override, rolloutId: 'r-2' }).verdict).toBe(
      'reject',
    );
  });

  it('needs a named caller and a reason, and names the field', () => {
    expect(parseOverride({ reason: '' }, 'alice', now)).toEqual({
      ok: false,
      problems: [expect.stringContaining('override.reason')],
    });
    const anonymous = parseOverride({ reason: 'hotfix now', extra: 1 }, undefined, now);
    expect(anonymous.ok).toBe(false);
    if (!anonymous.ok) {
      expect(anonymous.problems.join('\n')).toMatch(/override\.extra: unknown field/);
      expect(anonymous.problems.join('\n')).toMatch(/named caller/);
    }
  });
});

describe('emergency stop', () => {
  const app = { subscriptionId: '11111111-2222-3333-4444-555555555555', resourceGroup: 'RG', name: 'web' };
  const now = at('2026-06-10T12:00:00Z');
  const stop = (scope: EmergencyStop['scope']): EmergencyStop => {
    const parsed = newEmergencyStop(scope, { reason: 'INC-9 database failover' }, 'oncall', now);
    if (!parsed.ok) throw new Error(parsed.problems.join());
    return parsed.stop;
  };

  it('refuses new rollouts and pauses running ones; an override does not lift it', () => {
    const stops = [stop({ kind: 'global' })];
    const override = { by: 'alice', reason: 'hotfix', at: now.toISOString() };
    const v = admission(now, undefined, undefined, { stops, override });
    expect(v).toMatchObject({ verdict: 'reject', rule: 'emergencyStop:global' });
    expect(v.reason).toContain('INC-9 database failover');
    const gate = mayChangeProduction(now, undefined, undefined, { stops, override });
    expect(gate).toMatchObject({ allowed: false, verdict: 'pause', rule: 'emergencyStop:global' });
    expect(gate.until).toBeUndefined();
  });

  it('an app stop holds that app only; lifting it (no stop in force) opens production again', () => {
    const mine = stop({ kind: 'app', app: '11111111-2222-3333-4444-555555555555/rg/WEB' });
    const other = stop({ kind: 'app', app: '11111111-2222-3333-4444-555555555555/rg/api' });
    expect(stopsFor(app, [mine, other])).toEqual([mine]);
    expect(admission(now, undefined, undefined, { stops: stopsFor(app, [mine]) })).toMatchObject({
      verdict: 'reject',
      rule: 'emergencyStop:app',
    });
    expect(mayChangeProduction(now, undefined, undefined, { stops: [] })).toMatchObject({ allowed: true });
  });

  it('needs a reason and a named caller', () => {
    const bad = newEmergencyStop({ kind: 'app', app: 'web' }, {}, '', now);
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.problems).toEqual([
        expect.stringMatching(/^reason: is required/),
        expect.stringMatching(/^app: must be subscription\/resourceGroup\/name/),
        expect.stringMatching(/^by: /),
      ]);
    }
  });
});

describe('bad window and freeze definitions are refused at load, naming the field', () => {
  const policy = (changeControl: string) => `
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: web }
trigger: { repository: shop/web }
strategy: { type: traffic }
changeControl:
${changeControl}
`;
  function problemsOf(text: string): string[] {
    try {
      parsePolicies(text, 'p.yaml');
    } catch (e) {
      expect(errorCode(e)).toBe('InvalidPolicy');
      return (e as { details: { problems: string[] } }).details.problems;
    }
    throw new Error('policy was accepted');
  }

  it('lists every problem in one pass', () => {
    const problems = problemsOf(
      policy(`  windows:
    - { days: Mon-Thu, start: '09:00', end: '17:00', timeZone: Europe/Amstredam }
    - { days: Mon-Fry, start: '09:00', end: '17:00', timeZone: UTC }
    - { days: Tue, start: '18:00', end: '08:00', timeZone: UTC }
    - { days: Wed, start: '25:00', end: '26:00', timeZone: UTC }
    - { days: Mon, start: '09:00', end: '12:00' }
    - { days: Fri, start: '09:00', end: '12:00', timeZone: UTC }
    - { days: Fri, start: '11:00', end: '13:00', timeZone: UTC, colour: red }
  freezes:
    - { name: xmas, start: '2026-12-27', end: '2026-12-20', reason: holidays, timeZone: UTC }
    - { name: xmas, start: '2026-12-01T00:00:00Z', end: '2026-12-02T00:00:00Z' }
    - { start: '2026-12-01', end: '2026-12-02', reason: no zone }
    - { start: '2026-02-30T00:00:00Z', end: '2026-03-02T00:00:00Z', reason: not a day }
  duringFreeze: pause`),
    );
    const text = problems.join('\n');
    expect(text).toContain('p.yaml: changeControl.windows.0.timeZone: must be an IANA time zone');
    expect(text).toContain("p.yaml: changeControl.windows.1.days: unknown weekday in 'Mon-Fry'");
    expect(text).toContain('p.yaml: changeControl.windows.2.end: must be after start (18:00); got 08:00');
    expect(text).toContain('p.yaml: changeControl.windows.3.start: must be a local time HH:MM');
    expect(text).toContain('p.yaml: changeControl.windows.4.timeZone: is required');
    expect(text).toContain(
      "p.yaml: changeControl.windows.6: 'Fri 11:00-13:00 UTC' overlaps 'Fri 09:00-12:00 UTC'",
    );
    expect(text).toContain('p.yaml: changeControl.windows.6.colour: unknown field');
    expect(text).toContain('p.yaml: changeControl.freezes.0.end: must be after start');
    expect(text).toContain("p.yaml: changeControl.freezes.1.name: duplicate freeze name 'xmas'");
    expect(text).toContain('p.yaml: changeControl.freezes.1.reason: is required');
    expect(text).toContain("p.yaml: changeControl.freezes.2.start: '2026-12-01' has no UTC offset");
    expect(text).toContain(
      "p.yaml: changeControl.freezes.3.start: '2026-02-30T00:00:00Z' is not a real date",
    );
    expect(text).toContain(
      "p.yaml: changeControl.duringFreeze: must be 'wait' (until production opens), 'reject' or 'run'",
    );
    expect(text).toContain('p.yaml: changeControl.windows.3.end: must be a local time HH:MM');
    expect(problems).toHaveLength(15);
  });

  it('a good block loads into plain data the plan can carry', () => {
    const [p] = parsePolicies(
      policy(`  timeZone: Europe/Amsterdam
  windows: [{ days: [Mon, Tuesday, wed], start: '09:00', end: '17:00' }]
  freezes: [{ name: xmas, start: '2026-12-19', end: '2027-01-04', reason: holidays }]
  outsideWindows: reject`),
      'p.yaml',
    );
    expect(p?.changeControl).toEqual({
      layer: 'policy',
      windows: [
        {
          days: [1, 2, 3],
          start: 540,
          end: 1020,
          timeZone: 'Europe/Amsterdam',
          text: 'Mon-Wed 09:00-17:00 Europe/Amsterdam',
        },
      ],
      freezes: [
        {
          name: 'xmas',
          start: Date.parse('2026-12-18T23:00:00Z'),
          end: Date.parse('2027-01-03T23:00:00Z'),
          reason: 'holidays',
        },
      ],
      outsideWindows: 'reject',
      duringFreeze: 'wait',
    });
    expect(JSON.parse(JSON.stringify(p?.changeControl))).toEqual(p?.changeControl);
  });

  it('a policy without the block has none', () => {
    expect(
      parsePolicies(policy('  {}').replace('changeControl:\n  {}', ''), 'p.yaml')[0]?.changeControl,
    ).toBeUndefined();
  });

  it('the global file is refused with every problem, naming source and field', () => {
    expect(() =>
      parseGlobalChangeControl('windows: [{ days: Sun-Sat, start: "09:00", end: "08:00" }]', 'global.yaml'),
    ).toThrow(
      /global\.yaml: changeControl\.windows\.0\.timeZone: is required[\s\S]*global\.yaml: changeControl\.windows\.0\.end: must be after start/,
    );
    try {
      parseGlobalChangeControl('windows: [', 'g.yaml');
    } catch (e) {
      expect(errorCode(e)).toBe('InvalidConfiguration');
    }
    const g = parseGlobalChangeControl(
      'changeControl:\n  freezes: [{ start: "2026-12-24T00:00:00Z", end: "2026-12-26T00:00:00Z", reason: xmas }]',
      'g.yaml',
    );
    expect(g).toMatchObject({ layer: 'global', freezes: [{ name: 'freeze-1', reason: 'xmas' }] });
  });
});
