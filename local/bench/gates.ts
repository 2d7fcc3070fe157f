// Bench: how soon a failing gate rolls back when a slow sibling is still measuring (fail fast). Two
// httpJson gates against a local JSON server, on the stack's virtual clock: `errors` fails on its second
// measurement (one minute in); `slow` passes, 10 measurements 10 minutes apart (90 minutes after its first).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VirtualClock } from '../clock';
import { api, follow, type GreenlightHttp } from '../client';
import { startLocalStack } from '../stack';
import { disposeServices } from '../../src/composition';
import type { GateRunResult } from '../../src/domain/gates/report';
import { gateRunInstanceId } from '../../src/names';

const sub = '00000000-0000-0000-0000-0000000000bf';
const slowCount = 10;
const slowIntervalMinutes = 10;

/** A JSON server answering `{ rate }`: /errors 0.01 once, then 0.5; /slow always 0.01. */
async function gateServer(): Promise<{ server: Server; base: string; failedAt: () => number | undefined }> {
  let errorsServed = 0;
  let failedAt: number | undefined;
  const server = createServer((req, res) => {
    let rate = 0.01;
    if (req.url?.startsWith('/errors') && ++errorsServed >= 2) {
      rate = 0.5;
      failedAt ??= Date.now();
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ rate }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}`, failedAt: () => failedAt };
}

async function startRollout(http: GreenlightHttp, app: string, image: string): Promise<string> {
  const res = await api(http, 'POST', '/api/rollouts', { app, image });
  const body = (await res.json()) as { id?: string };
  if (!res.ok || !body.id)
    throw new Error(`starting ${image} answered ${res.status}: ${JSON.stringify(body)}`);
  return body.id;
}

export async function gateFailFast(redisUrl: string): Promise<Record<string, number | string>> {
  const json = await gateServer();
  const gate = (name: string, interval: string, count: number) => ({
    name,
    provider: 'httpJson',
    query: `${json.base}/${name}`,
    jsonPath: '$.rate',
    interval,
    count,
    successCondition: 'result < 0.05',
    phases: ['prePromotion'],
  });
  const clock = new VirtualClock(Date.now());
  const stack = await startLocalStack({
    redisUrl,
    policies: [
      {
        name: 'gated',
        app: { subscriptionId: sub, resourceGroup: 'rg-bench', name: 'gated' },
        trigger: { registry: 'bench.azurecr.io', repository: 'gated' },
        strategy: { type: 'traffic', steps: [100] },
        validation: { readiness: { timeout: 'PT5M', pollInterval: 'PT1S' }, smoke: [] },
        gates: [gate('errors', 'PT1M', 3), gate('slow', `PT${slowIntervalMinutes}M`, slowCount)],
        approval: { required: false },
        bake: 'PT0S',
        watch: { duration: 'PT0S' },
        cleanup: { deactivateAfter: 'PT0S', keepRevisions: 2 },
      },
    ],
    seed: [
      { subscriptionId: sub, resourceGroup: 'rg-bench', name: 'gated', image: 'bench.azurecr.io/gated:v1' },
    ],
    clock,
    emulator: { provisioningDelayMs: 0, lroDurationMs: 0 },
    env: { GREENLIGHT_ARM_POLL_INTERVAL_MS: '1', GREENLIGHT_ARM_RETRY_DELAY_MS: '10' },
    dropStateOnStop: true,
  });
  try {
    const id = await startRollout(stack.http, 'gated', 'bench.azurecr.io/gated:v2');
    const rolling = await follow(stack.http, id, (v) => v.phase === 'RollingBack' || v.done, {
      pollMs: 2,
      timeoutMs: 60_000,
    });
    const seenWall = Date.now();
    const done = await follow(stack.http, id, (v) => v.done, { pollMs: 5, timeoutMs: 60_000 });
    // The failed run's end on the orchestrations' clock (an activity's time stamp is the host's clock).
    const gateRun = await fetch(
      `${stack.http.baseUrl}/runtime/webhooks/durabletask/instances/${encodeURIComponent(gateRunInstanceId(id, 0, 'errors'))}?code=${stack.http.systemKey}`,
    ).then((r) => r.json() as Promise<{ output?: GateRunResult }>);
    const failing = gateRun.output?.finishedAt;
    const rollbackAt = done.timeline.find((t) => t.phase === 'RollingBack')?.at;
    const failedWall = json.failedAt();
    if (!failing || !rollbackAt || failedWall === undefined) {
      throw new Error(`no failed gate run or rollback: ${JSON.stringify({ gateRun, done })}`);
    }
    return {
      outcome: String(done.outcome),
      reason: String(done.reason ?? ''),
      slowSibling: String(done.gates.find((g) => g.name === 'slow')?.verdict),
      // On the orchestrations' clock: the failing measurement judged (its run's end) to the RollingBack entry.
      failToRollbackVirtualMs: Date.parse(rollbackAt) - Date.parse(failing),
      // What waiting for the sibling would have added (its remaining measurements, on the same clock).
      siblingWouldNeedVirtualMs: (slowCount - 1) * slowIntervalMinutes * 60_000,
      // Real time: the server's failing answer to the status first showing RollingBack (2 ms polls).
      failToRollbackSeenWallMs: (rolling.phase === 'RollingBack' ? seenWall : Date.now()) - failedWall,
    };
  } finally {
    await stack.stop();
    await disposeServices();
    json.server.close();
  }
}
