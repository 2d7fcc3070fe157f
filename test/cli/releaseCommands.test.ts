import { registry, seed, startE2E, trafficPolicy, type E2E } from '../e2e/support';
import { cli, expectExit } from './run';

const approval = { required: true, timeout: 'PT24H', onTimeout: 'rollback' };
const policies = [
  trafficPolicy('clra'),
  trafficPolicy('clrb'),
  { kind: 'Release', name: 'clirel', members: ['clra', 'clrb'], approval },
];
const withinAnHour = (next: number, now: number): boolean => next - now < 3_600_000;
const image = (app: string, tag: string): string => `${registry}/e2e/${app}:${tag}`;

let e: E2E;
let env: Record<string, string>;
beforeAll(async () => {
  e = await startE2E(policies);
  await seed(e, 'clra');
  await seed(e, 'clrb');
  env = { GREENLIGHT_URL: e.gl.baseUrl, GREENLIGHT_KEY: e.gl.functionKey };
}, 60_000);
afterAll(async () => {
  await e?.stop();
});
// The release approval (24 h) is not skipped: the release waits for the CLI's promote or abort.
beforeEach(() => e.stack.runtime.setTimeSkipping(withinAnHour));

async function waitingApproval(id: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const r = await cli(['release', 'status', id, '-o', 'json'], { env });
    expectExit(r, 0);
    const phase = (JSON.parse(r.stdout) as { phase: string }).phase;
    if (phase === 'WaitingApproval') return;
    if (['RolledBack', 'RollbackFailed', 'Succeeded', 'Crashed'].includes(phase))
      throw new Error(`release ${id} ended ${phase} before its approval`);
  }
  throw new Error(`release ${id} never waited for approval`);
}

describe('greenlight release, as a subprocess against the local runtime', () => {
  it('starts a release, shows and lists it, promotes it and follows it to Succeeded (exit 0)', async () => {
    const started = await cli(
      [
        'release',
        'start',
        'clirel',
        '--image',
        `clra=${image('clra', 'v2')}`,
        '--image',
        `clrb=${image('clrb', 'v2')}`,
        '-q',
      ],
      { env },
    );
    expectExit(started, 0);
    const id = started.stdout.trim();
    expect(id).toMatch(/^clirel-[0-9a-f]{12}$/);

    // The same images again: the same release.
    const again = await cli(
      [
        'release',
        'start',
        'clirel',
        '--image',
        `clra=${image('clra', 'v2')}`,
        '--image',
        `clrb=${image('clrb', 'v2')}`,
      ],
      { env },
    );
    expectExit(again, 0);
    expect(again.stdout).toContain(`release ${id} already running with these images`);

    await waitingApproval(id);
    const text = await cli(['release', 'status', id], { env });
    expectExit(text, 0);
    expect(text.stdout).toContain(`release ${id} (clirel)  WaitingApproval`);
    expect(text.stdout).toMatch(/approval: pending\s+\S*\/api\/approvals\//);
    expect(text.stdout).toMatch(
      new RegExp(`^\\s+clra\\s+${id}:clra\\s+\\S+\\s+no\\s+${image('clra', 'v2')}`, 'm'),
    );

    const listed = await cli(['release', 'list'], { env });
    expectExit(listed, 0);
    expect(listed.stdout).toMatch(
      new RegExp(`^${id}\\s+clirel\\s+WaitingApproval\\s+clra:\\S+ clrb:\\S+`, 'm'),
    );

    const promoted = await cli(['release', 'promote', id, '--reason', 'checked by hand'], { env });
    expectExit(promoted, 0);
    expect(promoted.stdout).toContain(`${id}: promotion requested`);

    e.stack.runtime.setTimeSkipping(true);
    const watched = await cli(['release', 'status', id, '--watch', '--interval', '100ms'], { env });
    expectExit(watched, 0);
    expect(watched.stdout).toContain(`release ${id} (clirel)  Succeeded`);
    expect(watched.stdout).toMatch(/^\s+clrb\s+\S+\s+\S+.*\s+yes\s+/m);
  });

  it('aborts a release (exit 2 when followed to its end) and refuses bad input with exit 1', async () => {
    const started = await cli(
      [
        'release',
        'start',
        'clirel',
        '--image',
        `clra=${image('clra', 'v3')}`,
        '--image',
        `clrb=${image('clrb', 'v3')}`,
        '-q',
      ],
      { env },
    );
    expectExit(started, 0);
    const id = started.stdout.trim();
    await waitingApproval(id);
    const aborted = await cli(['release', 'abort', id, '--reason', 'not today'], { env });
    expectExit(aborted, 0);
    expect(aborted.stdout).toContain(`${id}: rollback requested`);
    e.stack.runtime.setTimeSkipping(true);
    const watched = await cli(['release', 'status', id, '--watch', '--interval', '100ms'], { env });
    expectExit(watched, 2);
    expect(watched.stdout).toContain('RolledBack');

    const badPair = await cli(['release', 'start', 'clirel', '--image', 'clra'], { env });
    expectExit(badPair, 1);
    expect(badPair.stderr).toContain('--image must be <member>=<image>');

    const missing = await cli(['release', 'start', 'clirel', '--image', `clra=${image('clra', 'v4')}`], {
      env,
    });
    expectExit(missing, 1);
    expect(missing.stderr).toContain('images.clrb: missing: every member needs an image');

    const unknown = await cli(['release', 'status', 'nope-000000000000'], { env });
    expectExit(unknown, 1);
    expect(unknown.stderr).toContain("no release has id 'nope-000000000000'");
  });
});
