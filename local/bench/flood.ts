/**
 * A flood of Event Grid deliveries for one app, for `npm run bench`: 100 images pushed one after another, each
 * pushed five times (five event ids) and each event delivered twice (Event Grid delivers at least once), 1,000
 * events in 50 deliveries of 20. It should end with one rollout of the newest image, every older one superseded
 * or never started, and every event in the trigger ledger.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { VirtualClock } from '../clock';
import { imagePushedEvent, listRollouts, pushEvents } from '../client';
import { startLocalStack } from '../stack';
import { disposeServices } from '../../src/composition';

const sub = '00000000-0000-0000-0000-0000000000bd';
const rg = 'rg-bench-flood';
const registry = 'bench.azurecr.io';
const progress = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

export async function eventFlood(
  images = 100,
  idsPerImage = 5,
  deliveriesPerEvent = 2,
): Promise<Record<string, unknown>> {
  const name = 'flood';
  const stack = await startLocalStack({
    policies: [
      {
        name,
        app: { subscriptionId: sub, resourceGroup: rg, name },
        trigger: { registry, repository: name },
        strategy: { type: 'traffic', steps: [50, 100] },
        validation: { readiness: { timeout: 'PT10M', pollInterval: 'PT1S' } },
        approval: { required: false },
        bake: 'PT0S',
        watch: { duration: 'PT0S' },
        cleanup: { deactivateAfter: 'PT0S', keepRevisions: 2 },
      },
    ],
    seed: [{ subscriptionId: sub, resourceGroup: rg, name, image: `${registry}/${name}:v1` }],
    emulator: { provisioningDelayMs: 50, lroDurationMs: 0 },
    env: { GREENLIGHT_ARM_POLL_INTERVAL_MS: '5', GREENLIGHT_ARM_RETRY_DELAY_MS: '10' },
    clock: new VirtualClock(Date.now()),
    dropStateOnStop: true,
  });
  const redis = new Redis(stack.redisUrl);
  try {
    const events: Record<string, unknown>[] = [];
    for (let i = 0; i < images; i++) {
      const tag = `v${i + 2}`;
      const digest = `sha256:${createHash('sha256').update(tag).digest('hex')}`;
      for (let j = 0; j < idsPerImage; j++) {
        const event = imagePushedEvent({ id: `flood-${tag}-${j}`, registry, repository: name, tag, digest });
        for (let k = 0; k < deliveriesPerEvent; k++) events.push(event);
      }
    }
    const newest = `${registry}/${name}:v${images + 1}`;
    const t0 = Date.now();
    let rejectedDeliveries = 0;
    for (let i = 0; i < events.length; i += 20) {
      try {
        await pushEvents(stack.http, events.slice(i, i + 20));
      } catch (e) {
        rejectedDeliveries++;
        progress(`  flood: a delivery failed (Event Grid would redeliver): ${(e as Error).message}`);
      }
    }
    const deliveredMs = Date.now() - t0;
    // Wait until nothing runs for the app any more.
    let rollouts = await listRollouts(stack.http, name);
    for (const deadline = Date.now() + 300_000; Date.now() < deadline;) {
      rollouts = await listRollouts(stack.http, name);
      if (rollouts.length > 0 && rollouts.every((r) => r.done)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const outcomes: Record<string, number> = {};
    for (const r of rollouts) outcomes[String(r.outcome)] = (outcomes[String(r.outcome)] ?? 0) + 1;
    // The rollout names the image by tag and digest.
    const ofNewest = rollouts.filter((r) => r.image === newest || r.image.startsWith(`${newest}@`));
    const ledgerKey = `${stack.keyPrefix}app:ledger`;
    const ledgerEntries = await redis.xlen(ledgerKey);
    const figures = {
      events: events.length,
      distinctEventIds: images * idsPerImage,
      images,
      deliveries: Math.ceil(events.length / 20),
      rejectedDeliveries,
      deliveredMs,
      settledMs: Date.now() - t0,
      rollouts: rollouts.length,
      outcomes,
      rolloutsOfNewest: ofNewest.length,
      newestOutcome: ofNewest.map((r) => String(r.outcome)).join(','),
      ledgerEntries,
      trafficOnNewest: stack.emulator
        .traffic({ subscriptionId: sub, resourceGroup: rg, name })
        .filter((t) => t.weight > 0)
        .map((t) => `${t.revisionName} ${t.weight}%`),
    };
    progress(`  flood: ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    redis.disconnect();
    await stack.stop();
    await disposeServices();
  }
}
