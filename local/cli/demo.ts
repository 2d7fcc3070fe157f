#!/usr/bin/env node
/**
 * `npm run demo`: the whole mission on one machine. Starts Redis (when none answers), the Container Apps
 * emulator and the local Functions runtime with the unchanged app, then rolls out v2 of an HTTP app through
 * an ACR push, approves it through the callback page as a person would, and pushes a broken v3 that is
 * rolled back. Exits 0 only if both outcomes are as expected.
 */
import { createHash } from 'node:crypto';
import { Command } from 'commander';
import { startLocalStack } from '../stack';
import {
  decideThroughPage,
  follow,
  getRollout,
  imagePushedEvent,
  pushEvents,
  waitForNewRollout,
  type GreenlightHttp,
} from '../demo/flow';
import type { RolloutView } from '../../src/services/rolloutView';

const subscriptionId = '00000000-0000-0000-0000-0000000000de';
const resourceGroup = 'rg-demo';
const registry = 'demoacr.azurecr.io';
const repository = 'shop/web';

function digestOf(tag: string): string {
  return `sha256:${createHash('sha256').update(`${repository}:${tag}`).digest('hex')}`;
}

const policy = {
  name: 'web',
  app: { subscriptionId, resourceGroup, name: 'web' },
  trigger: { registry, repository, tags: ['v*'] },
  strategy: { type: 'traffic', steps: [10, 50, 100], stepPause: 'PT2S' },
  validation: {
    readiness: { timeout: 'PT1M', pollInterval: 'PT1S' },
    smoke: [
      { name: 'home', path: '/', expectStatus: 200, bodyContains: 'revision' },
      { name: 'health', path: '/healthz', expectStatus: 200, latencyBudget: 'PT1S' },
    ],
    dependencies: { path: '/dependencies', expectStatus: 200 },
  },
  approval: { required: true, timeout: 'PT10M', onTimeout: 'rollback' },
  bake: 'PT0S',
  watch: { duration: 'PT4S', interval: 'PT1S' },
  cleanup: { deactivateAfter: 'PT1S', keepRevisions: 2 },
  concurrency: 'queue',
};

const line = (s = ''): void => void process.stdout.write(`${s}\n`);
const stamp = (): string => new Date().toISOString().slice(11, 23);

async function rollout(
  gl: GreenlightHttp,
  tag: string,
  known: Set<string>,
  onApproval: (v: RolloutView) => Promise<void>,
): Promise<RolloutView> {
  line(`\n${stamp()} push ${registry}/${repository}:${tag}`);
  await pushEvents(gl, [
    imagePushedEvent({ id: `demo-${tag}-${Date.now()}`, registry, repository, tag, digest: digestOf(tag) }),
  ]);
  const id = await waitForNewRollout(gl, 'web', known);
  known.add(id);
  line(`${stamp()} rollout ${id} started`);
  const print = (s: string): void => line(`${stamp()}   ${s}`);
  let approved = false;
  return follow(
    gl,
    id,
    (v) => {
      if (v.approval.state === 'pending' && v.approval.pageUrl && !approved) {
        approved = true;
        void onApproval(v);
      }
      return v.done;
    },
    { print, timeoutMs: 180_000, pollMs: 200 },
  );
}

async function main(): Promise<number> {
  const program = new Command()
    .name('greenlight-demo')
    .description('An end-to-end blue-green rollout on the local runtime and the Container Apps emulator')
    .option(
      '--redis <url>',
      'Redis to use (a throwaway one is started when none answers)',
      'redis://127.0.0.1:6379',
    )
    .option('--provisioning-delay <ms>', 'simulated revision provisioning time', '1500')
    .parse();
  const opts = program.opts<{ redis: string; provisioningDelay: string }>();

  line('Greenlight demo: blue-green by traffic on Azure Container Apps (local runtime + emulator)');
  const stack = await startLocalStack({
    redisUrl: opts.redis,
    policies: [policy],
    seed: [{ subscriptionId, resourceGroup, name: 'web', image: `${registry}/${repository}:v1` }],
    emulator: { provisioningDelayMs: Number(opts.provisioningDelay), lroDurationMs: 100 },
    dropStateOnStop: true,
    // Status polls would drown the story; every other runtime line is shown.
    log: (s) => {
      if (!/^http {2}GET \/api\/rollouts/.test(s)) line(`${stamp()} ${s}`);
    },
  });
  const gl = stack.http;
  const ref = { subscriptionId, resourceGroup, name: 'web' };
  const traffic = (): string =>
    stack.emulator
      .traffic(ref)
      .filter((t) => t.weight > 0)
      .map((t) => `${t.revisionName} ${t.weight}%`)
      .join(', ');
  let ok = true;
  const known = new Set<string>();
  try {
    line(`Function App: ${gl.baseUrl}   Container Apps (ARM) emulator: ${stack.emulator.url}`);
    line(`app 'web' serves: ${traffic()}`);

    // 1. v2: approved through the callback page, promoted 10 → 50 → 100.
    const v2 = await rollout(gl, 'v2', known, async (v) => {
      line(`${stamp()} approval link: ${v.approval.pageUrl}`);
      const { result } = await decideThroughPage(
        v.approval.pageUrl ?? '',
        'approve',
        'smoke looks good',
        'alice@contoso.com',
      );
      line(`${stamp()} approval page answered ${result.status} (approved by alice@contoso.com)`);
    });
    line(`${stamp()} outcome: ${v2.outcome} (${v2.reason ?? ''})`);
    line(`app 'web' serves: ${traffic()}`);
    const v2ok = v2.outcome === 'Succeeded' && /--gl-v2-/.test(traffic()) && traffic().endsWith('100%');
    ok &&= v2ok;

    // 2. v3 has a broken dependency: smoke checks fail and the snapshot (v2 at 100%) is restored.
    const before = traffic();
    const v3 = await rollout(gl, 'v3-depfail', known, async () => undefined);
    line(`${stamp()} outcome: ${v3.outcome} (${v3.reason ?? ''})`);
    line(`app 'web' serves: ${traffic()}`);
    const v3ok = v3.outcome === 'RolledBack' && traffic() === before;
    ok &&= v3ok;

    const final = await getRollout(gl, v3.id);
    line('\nSummary');
    line(`  v2          ${v2ok ? 'PASS' : 'FAIL'}  ${v2.outcome}: ${v2.reason ?? ''}`);
    line(`  v3-depfail  ${v3ok ? 'PASS' : 'FAIL'}  ${v3.outcome}: ${v3.reason ?? ''}`);
    line(`  serving     ${traffic()}`);
    line(`  timeline of ${final.id}: ${final.timeline.map((t) => t.phase).join(' → ')}`);
  } catch (e) {
    ok = false;
    line(`demo failed: ${e instanceof Error ? e.stack : String(e)}`);
  } finally {
    await stack.stop();
  }
  line(ok ? '\ndemo: PASS' : '\ndemo: FAIL');
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
