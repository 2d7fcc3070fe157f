// A one-hour watch with a gate measured every 30 s: the rollout's history must not grow with the window.
import { defaultWorkspaceId } from '../../local/containerapps-emulator';
import { seed, startE2E, startRollout, trafficPolicy, untilDone, type E2E } from './support';

/**
 * The bounds this test holds the design to (events in a history, as the Durable API returns them): the
 * rollout calls the watch once, whatever its length; a watch generation holds 10 checks of 4 steps each
 * (timer, readiness, smoke, one gate measurement: 2 events apiece) plus its replays' markers.
 */
const maxRolloutHistory = 60;
const maxWatchGenerationHistory = 100;

let e: E2E;
beforeAll(async () => {
  e = await startE2E([
    trafficPolicy('g-hour', {
      watch: { duration: 'PT1H', interval: 'PT30S' },
      gates: [
        {
          name: 'errors',
          provider: 'logAnalytics',
          workspaceId: defaultWorkspaceId,
          query:
            'AppRequests | where RevisionName == {{revision}} | summarize total = count() | extend result = 0.0',
          interval: 'PT30S',
          count: 2,
          successCondition: 'result <= 0.01',
          phases: ['watch'],
        },
      ],
    }),
  ]);
  await seed(e, 'g-hour');
}, 60_000);

afterAll(() => e?.stop());

async function history(instanceId: string): Promise<{ output: unknown; events: number }> {
  const res = await fetch(
    `${e.gl.baseUrl}/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}?showHistory=true&code=${e.gl.systemKey}`,
  );
  const body = (await res.json()) as { output: unknown; historyEvents?: unknown[] };
  return { output: body.output, events: body.historyEvents?.length ?? 0 };
}

describe('history stays bounded through a long watch', () => {
  it('one hour of 30-second gate checks: 120 checks, bounded histories', async () => {
    const id = await startRollout(e, 'g-hour', 'v2');
    const done = await untilDone(e, id, 120_000);
    expect(done.outcome).toBe('Succeeded');
    expect(done.gates.find((g) => g.name === 'errors')).toMatchObject({ verdict: 'pass', value: 0 });

    const rollout = await history(id);
    const watch = await history(`${id}:watch`);
    // The watch ran every check in generations of 10 (continue-as-new), the last one kept.
    expect(watch.output).toMatchObject({ ok: true, checks: 120 });
    expect(rollout.events).toBeLessThanOrEqual(maxRolloutHistory);
    expect(watch.events).toBeLessThanOrEqual(maxWatchGenerationHistory);
    process.stdout.write(
      `history events: rollout ${rollout.events}, last watch generation ${watch.events}\n`,
    );
  }, 150_000);
});
