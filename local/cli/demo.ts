#!/usr/bin/env node
/**
 * `npm run demo`: the whole mission on one machine. Starts Redis (when none answers), the Container Apps
 * emulator and the local Functions runtime with the unchanged app, then rolls out v2 of an HTTP app through
 * an ACR push, approves it through the callback page as a person would, and pushes a broken v3 that is
 * rolled back; then rolls out an always-on TCP worker by flag (mock mode on a temporary Redis, one fenced
 * flip) and a worker whose mock output is malformed, which is rolled back; then releases both apps as one
 * (gathered from two pushes, one approval, promoted in order) and a release whose worker stalls after the web
 * app was promoted, so both are restored. Exits 0 only if every outcome is as expected.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisControlPlane } from '../../src/adapters/flags/redisControlPlane';
import { checkpointKey, prodLogKey } from '../../src/protocol/flagKeys';
import { appKey } from '../../src/domain/flag/control';
import { Command } from 'commander';
import { approvalButton, startInbox, type Inbox } from '../inbox';
import { startLocalStack, tcpWorkerFlagStrategy, tcpWorkerMockOutput } from '../stack';
import {
  api,
  decideThroughPage,
  follow,
  sleep,
  getRollout,
  imagePushedEvent,
  pushEvents,
  waitForNewRollout,
  type GreenlightHttp,
} from '../client';
import type { RolloutView } from '../../src/services/rolloutView';
import { summarizeRelease, type ReleaseView } from '../../src/services/releaseView';

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
  // Delivered to the demo's inbox: the approver follows the link in the Teams card, as a person would.
  notifications: [
    { kind: 'teams', urlSetting: 'GREENLIGHT_TEAMS_URL' },
    {
      kind: 'webhook',
      name: 'release-hook',
      urlSetting: 'GREENLIGHT_WEBHOOK_URL',
      secretSetting: 'GREENLIGHT_WEBHOOK_SECRET',
      events: ['waitingApproval', 'gateFailed', 'rolledBack', 'rollbackFailed'],
    },
  ],
};

const keyPrefix = `greenlight-demo:${randomUUID().slice(0, 8)}:`;
const flagKeyPrefix = `${keyPrefix}fl:`;
const workerRepository = 'ingest/worker';
const worker = { subscriptionId, resourceGroup, name: 'ingest' };

const workerPolicy = {
  name: 'ingest',
  app: worker,
  trigger: { registry, repository: workerRepository, tags: ['v*'] },
  // The watch sees production fall 100 frames (2 s) behind: a stalled worker is caught within its watch.
  strategy: { ...tcpWorkerFlagStrategy(flagKeyPrefix, 'PT30S'), progress: { maxLagFrames: 100 } },
  validation: {
    readiness: { timeout: 'PT1M', pollInterval: 'PT1S' },
    mock: {
      deadline: 'PT30S',
      minRecords: 50,
      maxLag: 50,
      ...tcpWorkerMockOutput,
    },
  },
  approval: { required: false },
  bake: 'PT2S',
  // The agents' lease lasts 5 s: a watch shorter than that plus two checks could not see a crash.
  watch: { duration: 'PT8S', interval: 'PT1S' },
  cleanup: { deactivateAfter: 'PT1S', keepRevisions: 1 },
  concurrency: 'queue',
  notifications: [
    { kind: 'slack', urlSetting: 'GREENLIGHT_SLACK_URL', events: ['started', 'stepAdvanced', 'rolledBack'] },
  ],
};

/**
 * The web app and the worker released as one: one approval, promoted in order (web, then the worker), and
 * all-or-nothing. Pushes whose tags share `v<N>.` are gathered into one release; other tags roll out alone.
 */
const releasePolicy = {
  kind: 'Release',
  name: 'shop',
  members: ['web', 'ingest'],
  order: 'sequence',
  approval: { required: true, timeout: 'PT10M', onTimeout: 'rollback' },
  // Members watch at least this long: the worker's stall (2 s after it takes production) is seen in it.
  watch: { duration: 'PT20S', interval: 'PT1S' },
  gather: { window: 'PT2M', tagKey: '^(v\\d+)\\.' },
  concurrency: 'queue',
};

const line = (s = ''): void => void process.stdout.write(`${s}\n`);
const stamp = (): string => new Date().toISOString().slice(11, 23);

/**
 * The approval page as the Teams card of the rollout's waitingApproval links it: what a person clicks in
 * the channel. Taken from the message the inbox received, never from the status API.
 */
async function approvalLinkFromCard(inbox: Inbox, rolloutId: string): Promise<string> {
  const card = await inbox.waitFor(
    (m) =>
      m.kind === 'teams' &&
      m.accepted &&
      m.links.some((l) => l.title === approvalButton) &&
      JSON.stringify(m.payload).includes(rolloutId),
    120_000,
  );
  return card.links.find((l) => l.title === approvalButton)!.url;
}

async function rollout(
  gl: GreenlightHttp,
  tag: string,
  known: Set<string>,
  /** Runs beside the rollout once its id is known (the approver's part). */
  onStarted: (id: string) => Promise<void>,
  repo = repository,
  app = 'web',
): Promise<RolloutView> {
  line(`\n${stamp()} push ${registry}/${repo}:${tag}`);
  await pushEvents(gl, [
    imagePushedEvent({
      id: `demo-${tag}-${Date.now()}`,
      registry,
      repository: repo,
      tag,
      digest: digestOf(`${repo}${tag}`),
    }),
  ]);
  const id = await waitForNewRollout(gl, app, known);
  known.add(id);
  line(`${stamp()} rollout ${id} started`);
  const print = (s: string): void => line(`${stamp()}   ${s}`);
  let failed: Error | undefined;
  const beside = onStarted(id).catch((e: unknown) => {
    failed = e instanceof Error ? e : new Error(String(e));
    line(`${stamp()} ${failed.message}`);
  });
  const view = await follow(gl, id, (v) => v.done || failed !== undefined, {
    print,
    timeoutMs: 180_000,
    pollMs: 200,
  });
  await beside;
  if (failed !== undefined) throw failed;
  return view;
}

const nothing = async (): Promise<void> => undefined;

async function getRelease(gl: GreenlightHttp, id: string): Promise<ReleaseView> {
  const res = await api(gl, 'GET', `/api/releases/${encodeURIComponent(id)}`);
  if (!res.ok) throw new Error(`GET release ${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as ReleaseView;
}

/** Waits for the release of `name` not among `known` (a gathering starts it a moment after the last push). */
async function newRelease(gl: GreenlightHttp, name: string, known: Set<string>): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await api(gl, 'GET', `/api/releases?name=${encodeURIComponent(name)}`);
    const list = ((await res.json()) as { releases: ReleaseView[] }).releases;
    const fresh = list.find((r) => !known.has(r.id));
    if (fresh) return fresh.id;
    if (Date.now() > deadline) throw new Error(`no new release of ${name} within 60 s`);
    await sleep(200);
  }
}

/** Follows a release to its end (Succeeded, RolledBack...), approving it through its page when it asks. */
async function followRelease(gl: GreenlightHttp, id: string, comment: string): Promise<ReleaseView> {
  const deadline = Date.now() + 240_000;
  let last = '';
  let approved = false;
  for (;;) {
    const v = await getRelease(gl, id);
    const summary = summarizeRelease(v);
    if (summary !== last) line(`${stamp()}   ${summary}`);
    last = summary;
    if (v.phase === 'WaitingApproval' && v.approval?.pageUrl && !approved) {
      line(`${stamp()} release approval page: ${v.approval.pageUrl}`);
      const { page, result } = await decideThroughPage(
        v.approval.pageUrl,
        'approve',
        comment,
        'alice@contoso.com',
      );
      const shown = v.members.filter((m) => m.image && page.includes(m.image)).length;
      line(
        `${stamp()} the page showed ${shown}/${v.members.length} members' images; it answered ${result.status}`,
      );
      if (result.status >= 400) throw new Error(`the approval page refused the decision: ${result.status}`);
      approved = true;
    }
    if (v.done || ['Succeeded', 'RolledBack', 'RollbackFailed', 'Undone'].includes(v.phase)) return v;
    if (Date.now() > deadline) throw new Error(`release ${id} did not end in time; last: ${summary}`);
    await sleep(250);
  }
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
  // Where the policies' channels deliver (Teams, Slack, signed webhook): one line per message.
  const inbox = await startInbox({ log: (s) => line(`${stamp()} ${s}`) });
  const stack = await startLocalStack({
    redisUrl: opts.redis,
    // The demo's approval call sends the signed-in name as App Service authentication would.
    env: { GREENLIGHT_TRUST_CLIENT_PRINCIPAL: 'true', ...inbox.settings() },
    keyPrefix,
    policies: [policy, workerPolicy, releasePolicy],
    seed: [
      { subscriptionId, resourceGroup, name: 'web', image: `${registry}/${repository}:v1` },
      { ...worker, image: `${registry}/${workerRepository}:v1`, ingress: false, workload: { kind: 'tcp' } },
    ],
    tcpWorkers: { keyPrefix: flagKeyPrefix },
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
    line(`Notifications: ${inbox.url}/inbox`);
    line(`app 'web' serves: ${traffic()}`);

    // 1. v2: approved through the callback page, promoted 10 → 50 → 100.
    const v2 = await rollout(gl, 'v2', known, async (id) => {
      const pageUrl = await approvalLinkFromCard(inbox, id);
      line(`${stamp()} approval link from the Teams card: ${pageUrl}`);
      const { result } = await decideThroughPage(pageUrl, 'approve', 'smoke looks good', 'alice@contoso.com');
      line(`${stamp()} approval page answered ${result.status} (approved by alice@contoso.com)`);
      if (result.status >= 400) throw new Error(`the approval page refused the decision: ${result.status}`);
    });
    line(`${stamp()} outcome: ${v2.outcome} (${v2.reason ?? ''})`);
    line(`app 'web' serves: ${traffic()}`);
    const v2ok = v2.outcome === 'Succeeded' && /--gl-v2-/.test(traffic()) && traffic().endsWith('100%');
    ok &&= v2ok;

    // 2. v3 has a broken dependency: smoke checks fail and the snapshot (v2 at 100%) is restored.
    const before = traffic();
    const v3 = await rollout(gl, 'v3-depfail', known, nothing);
    line(`${stamp()} outcome: ${v3.outcome} (${v3.reason ?? ''})`);
    line(`app 'web' serves: ${traffic()}`);
    const v3ok = v3.outcome === 'RolledBack' && traffic() === before;
    ok &&= v3ok;

    // 3. The always-on TCP worker by flag: green validated in mock mode on the temporary Redis, one fenced flip.
    line(`\nThe TCP worker 'ingest': receiver + processor per revision, frames from a TCP source into Redis`);
    const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: 2 });
    const control = new RedisControlPlane(redis, flagKeyPrefix);
    const key = appKey(worker);
    const processed = async (): Promise<number> =>
      Number((await redis.get(checkpointKey(prodLogKey(flagKeyPrefix, key, 'sink')))) ?? 0);
    const who = async (): Promise<string> => {
      const r = await control.read(key);
      return `active ${r?.active ?? 'none'} at epoch ${r?.epoch ?? 0}, ${await processed()} frames processed`;
    };
    let w2ok = false;
    let w3ok = false;
    let w2: RolloutView | undefined;
    let w3: RolloutView | undefined;
    let r1: ReleaseView | undefined;
    let r2: ReleaseView | undefined;
    let r1ok = false;
    let r2ok = false;
    try {
      line(`worker: ${await who()}`);
      w2 = await rollout(gl, 'v2', known, nothing, workerRepository, 'ingest');
      line(`${stamp()} outcome: ${w2.outcome} (${w2.reason ?? ''})`);
      line(`worker: ${await who()}`);
      w2ok = w2.outcome === 'Succeeded' && (await control.read(key))?.active === w2.green;
      ok &&= w2ok;

      // 4. A worker whose mock output is malformed never reaches production.
      const activeBefore = (await control.read(key))?.active;
      w3 = await rollout(gl, 'v3-malformed', known, nothing, workerRepository, 'ingest');
      line(`${stamp()} outcome: ${w3.outcome} (${w3.reason ?? ''})`);
      line(`worker: ${await who()}`);
      w3ok = w3.outcome === 'RolledBack' && (await control.read(key))?.active === activeBefore;
      ok &&= w3ok;

      // 5. Both apps as one release, gathered from two pushes of v5.0.x: one approval, web then the worker.
      line(
        `\nRelease 'shop': the web app and the worker as one (one approval, promoted in order, all-or-nothing)`,
      );
      const releases = new Set<string>();
      for (const [repo, tag] of [
        [repository, 'v5.0.0'],
        [workerRepository, 'v5.0.1'],
      ] as const) {
        line(`${stamp()} push ${registry}/${repo}:${tag} (gathered into release shop, key v5)`);
        await pushEvents(gl, [
          imagePushedEvent({
            id: `demo-${repo}-${tag}`,
            registry,
            repository: repo,
            tag,
            digest: digestOf(`${repo}${tag}`),
          }),
        ]);
      }
      const r1Id = await newRelease(gl, 'shop', releases);
      releases.add(r1Id);
      line(`${stamp()} release ${r1Id} started`);
      r1 = await followRelease(gl, r1Id, 'both look good');
      line(`app 'web' serves: ${traffic()}`);
      line(`worker: ${await who()}`);
      const workerGreen = r1.members.find((m) => m.app === 'ingest')?.rollout?.green;
      r1ok =
        r1.phase === 'Succeeded' &&
        r1.members.every((m) => m.promoted) &&
        /--gl-v5-0-0-/.test(traffic()) &&
        traffic().endsWith('100%') &&
        workerGreen !== undefined &&
        (await control.read(key))?.active === workerGreen;
      ok &&= r1ok;

      // 6. A release whose worker stalls once it holds production, after web was promoted: both restored.
      const webBefore = traffic();
      const workerBefore = (await control.read(key))?.active;
      const images = {
        web: `${registry}/${repository}:v6.0.0`,
        ingest: `${registry}/${workerRepository}:v6.0.0-stall`,
      };
      line(`\n${stamp()} POST /api/releases shop ${JSON.stringify(images)}`);
      const started = await api(gl, 'POST', '/api/releases', {
        release: 'shop',
        images,
        reason: 'demo: a worker that stalls',
      });
      const r2Id = ((await started.json()) as { id: string }).id;
      line(`${stamp()} release ${r2Id}: HTTP ${started.status}`);
      r2 = await followRelease(gl, r2Id, 'ship both');
      line(`app 'web' serves: ${traffic()}`);
      line(`worker: ${await who()}`);
      r2ok =
        r2.phase === 'RolledBack' &&
        r2.members[0]?.promoted === true &&
        traffic() === webBefore &&
        (await control.read(key))?.active === workerBefore;
      ok &&= r2ok;
    } finally {
      redis.disconnect();
    }

    const final = await getRollout(gl, v3.id);
    line('\nSummary');
    line(`  web v2              ${v2ok ? 'PASS' : 'FAIL'}  ${v2.outcome}: ${v2.reason ?? ''}`);
    line(`  web v3-depfail      ${v3ok ? 'PASS' : 'FAIL'}  ${v3.outcome}: ${v3.reason ?? ''}`);
    line(`  web serving         ${traffic()}`);
    line(`  timeline of ${final.id}: ${final.timeline.map((t) => t.phase).join(' → ')}`);
    line(`  ingest v2           ${w2ok ? 'PASS' : 'FAIL'}  ${w2?.outcome ?? '-'}: ${w2?.reason ?? ''}`);
    line(`  ingest v3-malformed ${w3ok ? 'PASS' : 'FAIL'}  ${w3?.outcome ?? '-'}: ${w3?.reason ?? ''}`);
    line(
      `  release shop v5     ${r1ok ? 'PASS' : 'FAIL'}  ${r1?.phase ?? '-'}: ${r1?.members.map((m) => `${m.app} ${m.outcome ?? m.phase ?? '-'}`).join(', ') ?? ''}`,
    );
    line(`  release shop v6     ${r2ok ? 'PASS' : 'FAIL'}  ${r2?.phase ?? '-'}: ${r2?.reason ?? ''}`);
    // Every message the channels got passed the check its service would make (card, blocks, signature).
    const received = inbox.messages();
    const refused = received.filter((m) => !m.accepted);
    const notifyOk = received.length > 0 && refused.length === 0;
    ok &&= notifyOk;
    line(
      `  notifications       ${notifyOk ? 'PASS' : 'FAIL'}  ${received.length} received (${(['teams', 'slack', 'webhook'] as const).map((k) => `${k} ${received.filter((m) => m.kind === k).length}`).join(', ')}), ${refused.length} refused`,
    );
  } catch (e) {
    ok = false;
    line(`demo failed: ${e instanceof Error ? e.stack : String(e)}`);
  } finally {
    await stack.stop();
    await inbox.close();
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
