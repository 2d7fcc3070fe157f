import { EventEmitter } from 'node:events';
import type { RolloutView } from '../../src/services/rolloutView';
import { ExitCode, exitCodeOfEnd } from '../../src/cli/exitCodes';
import { paintFor } from '../../src/cli/format';
import { judge } from '../../src/cli/follow';
import { LiveFrame } from '../../src/cli/live';
import { parseSpan } from '../../src/cli/options';
import { renderStatus } from '../../src/cli/render';
import { resolveTarget } from '../../src/cli/target';

function view(over: Partial<RolloutView> = {}): RolloutView {
  return {
    rolloutId: 'w-1',
    id: 'w-1',
    app: { subscriptionId: 's', resourceGroup: 'rg', name: 'w' },
    image: 'acr.io/w:v2',
    strategy: 'traffic',
    phase: 'Validating',
    blue: ['w--v1'],
    green: 'w--v2',
    checks: {},
    gates: [],
    approval: { state: 'notRequired' },
    timeline: [{ phase: 'Initializing', at: '2026-01-01T10:00:00.000Z' }],
    updatedAt: '2026-01-01T10:00:05.000Z',
    runtimeStatus: 'Running',
    createdAt: '2026-01-01T10:00:00.000Z',
    lastUpdatedAt: '2026-01-01T10:00:05.000Z',
    done: false,
    ...over,
  };
}

const plain = { paint: paintFor(false), now: Date.parse('2026-01-01T10:01:00.000Z') };

describe('wait: what a rollout view means for the exit code', () => {
  it('keeps waiting while running, then maps the end to 0, 2, 3 or 5', () => {
    expect(judge(view(), 'done')).toBeUndefined();
    expect(judge(view({ done: true, phase: 'Succeeded' }), 'done')?.code).toBe(ExitCode.ok);
    const rolledBack = judge(view({ done: true, phase: 'RolledBack', reason: 'smoke failed' }), 'done');
    expect(rolledBack).toMatchObject({ code: 2, message: 'w-1 ended RolledBack: smoke failed' });
    const failed = judge(
      view({ done: true, phase: 'RollbackFailed', leftToDo: ['set traffic by hand'] }),
      'done',
    );
    expect(failed).toMatchObject({
      code: 3,
      message: 'w-1 ended RollbackFailed; left to do: set traffic by hand',
    });
    expect(judge(view({ done: true, phase: 'Crashed' }), 'done')?.code).toBe(ExitCode.crashed);
    expect(exitCodeOfEnd('Terminated')).toBe(ExitCode.crashed);
  });

  it('counts a phase as reached when the timeline shows it, even after the rollout moved on', () => {
    expect(judge(view(), 'WaitingApproval')).toBeUndefined();
    const passed = view({
      phase: 'Promoting',
      timeline: [{ phase: 'WaitingApproval', at: '2026-01-01T10:00:03Z' }],
    });
    expect(judge(passed, 'WaitingApproval')?.code).toBe(ExitCode.ok);
    expect(judge(view({ done: true, phase: 'Succeeded' }), 'WaitingApproval')?.code).toBe(
      ExitCode.phaseNotReached,
    );
    expect(judge(view({ done: true, phase: 'RolledBack' }), 'Promoting')?.code).toBe(ExitCode.rolledBack);
  });
});

describe('spans as people type them', () => {
  it.each([
    ['90', 90_000],
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['PT10M', 600_000],
  ])('%s', (text, ms) => expect(parseSpan(text)).toBe(ms));
  it.each(['soon', '10 m', '5x', '1h30', 'P', ''])('refuses %j', (text) =>
    expect(parseSpan(text)).toBeUndefined(),
  );
});

describe('target', () => {
  it('prefers --url/--key over the environment and names where the URL came from', () => {
    const env = { GREENLIGHT_URL: 'https://env.example/', GREENLIGHT_KEY: 'k1' };
    expect(resolveTarget({}, env)).toEqual({
      url: 'https://env.example',
      key: 'k1',
      source: 'GREENLIGHT_URL',
    });
    expect(resolveTarget({ url: 'http://flag:7071', key: 'k2' }, env)).toEqual({
      url: 'http://flag:7071',
      key: 'k2',
      source: '--url',
    });
  });
});

describe('the status view', () => {
  it('shows traffic as bars, every check with its value and verdict, the approval and the outcome', () => {
    const lines = renderStatus(
      view({
        phase: 'RollbackFailed',
        step: { index: 1, of: 3, weight: 50 },
        traffic: [
          { revisionName: 'w--v1', weight: 50, label: 'blue' },
          { revisionName: 'w--v2', weight: 50 },
        ],
        checks: {
          readiness: { name: 'readiness', ok: true, message: 'w--v2 is ready' },
          smoke: {
            passed: false,
            url: 'http://w--v2',
            results: [
              { name: 'health', ok: false, status: 503, latencyMs: 12, message: 'expected 200, got 503' },
            ],
          },
          mock: {
            verdict: 'pass',
            message: 'ok',
            records: 120,
            malformed: 0,
            lag: 2,
            at: '2026-01-01T10:00:04Z',
          },
        },
        gates: [
          {
            name: 'errors',
            verdict: 'fail',
            message: '0.3 > 0.1',
            value: 0.3,
            baseline: 0.01,
            at: '2026-01-01T10:00:04Z',
          },
          {
            name: 'p99',
            verdict: 'stopped',
            message: 'stopped: gate errors decided the phase first',
            value: 'Infinity',
            dryRun: true,
            history: [
              { value: 0.2, verdict: 'success' },
              { value: 'Infinity', verdict: 'failure' },
              { verdict: 'error', error: 'timeout' },
            ],
          },
        ],
        approval: {
          state: 'pending',
          pageUrl: 'http://x/api/approvals/w-1?token=t',
          expiresAt: '2026-01-02T10:00:00Z',
        },
        outcome: 'RollbackFailed',
        reason: 'ARM refused',
        leftToDo: ['restore traffic w--v1=100'],
      }),
      plain,
    ).join('\n');
    expect(lines).toContain('phase     RollbackFailed  step 2/3 at 50%  started 1m ago, updated 10:00:05Z');
    expect(lines).toContain(`traffic   w--v1  ${'█'.repeat(12)}${'░'.repeat(12)}   50%  blue, label blue`);
    expect(lines).toContain(`          w--v2  ${'█'.repeat(12)}${'░'.repeat(12)}   50%  green`);
    expect(lines).toContain('readiness ✓ pass  w--v2 is ready');
    expect(lines).toContain('smoke     failed against http://w--v2');
    expect(lines).toMatch(/✗ fail\s+health\s+503\s+12 ms\s+expected 200, got 503/);
    expect(lines).toContain('mock      ✓ pass  120 records, 0 malformed, lag 2  10:00:04Z');
    expect(lines).toMatch(/gates {5}✗ fail\s+errors\s+value 0.3\s+baseline 0.01\s+10:00:04Z\s+0.3 > 0.1/);
    // Infinities as +Inf, a dry-run gate named so, and each gate's latest measurements under it.
    expect(lines).toMatch(
      /… stopped\s+p99 \(dry run\)\s+value \+Inf\s+stopped: gate errors decided the phase first/,
    );
    expect(lines).toContain('last 3: 0.2✓ +Inf✗ err!');
    expect(lines).toContain('approval  pending  expires 2026-01-02 10:00:00Z (in 23h59m)');
    expect(lines).toContain('          http://x/api/approvals/w-1?token=t');
    expect(lines).toContain('outcome   RollbackFailed  ARM refused');
    expect(lines).toContain('          - restore traffic w--v1=100');
  });

  it('shows a flag rollout by who holds production work', () => {
    const lines = renderStatus(
      view({
        strategy: 'flag',
        flags: {
          epoch: 7,
          active: 'w--v2',
          revisions: {
            'w--v1': { mode: 'standby', binding: 'prod' },
            'w--v2': { mode: 'prod', binding: 'prod' },
          },
        },
      }),
      plain,
    );
    expect(lines).toContain('revisions blue w--v1  green w--v2');
    expect(lines).toContain('flags     epoch 7  active w--v2');
    expect(lines).toContain(`          w--v1  ${'░'.repeat(24)}  standby/prod  blue`);
    expect(lines).toContain(`          w--v2  ${'█'.repeat(24)}  prod/prod     green`);
  });

  it('shows the last timeline entries only when asked to fit a terminal', () => {
    const timeline = ['Initializing', 'Deploying', 'WaitingReady', 'Validating'].map((phase, i) => ({
      phase: phase as RolloutView['timeline'][number]['phase'],
      at: `2026-01-01T10:00:0${i}Z`,
    }));
    const lines = renderStatus(view({ timeline }), { ...plain, timelineLimit: 2 });
    expect(lines.slice(-3)).toEqual([
      'timeline  … 2 earlier',
      '          10:00:02Z WaitingReady',
      '          10:00:03Z Validating',
    ]);
  });
});

describe('the live frame', () => {
  it('moves back over every row of the last frame, wrapped lines included, and skips an unchanged frame', () => {
    const written: string[] = [];
    const out = Object.assign(new EventEmitter(), {
      columns: 10,
      rows: 40,
      write: (s: string) => written.push(s),
    }) as unknown as NodeJS.WriteStream;
    const frame = new LiveFrame(out);
    frame.draw(['short', 'x'.repeat(25)]); // 1 + 3 rows
    frame.draw(['short', 'x'.repeat(25)]);
    frame.draw(['next']);
    // After a resize the old rows are unknown: the screen is cleared and the frame drawn from the top.
    out.emit('resize');
    frame.draw(['next', 'more']);
    frame.close();
    out.emit('resize');
    expect(written).toEqual([
      '\u001b[?25l',
      `\u001b[0Jshort\n${'x'.repeat(25)}\n`,
      '\u001b[4F\u001b[0Jnext\n',
      '\u001b[2J\u001b[H',
      '\u001b[0Jnext\n',
      '\u001b[1F\u001b[0Jnext\nmore\n',
      '\u001b[?25h',
    ]);
  });
});
