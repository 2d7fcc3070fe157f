// Bench: how soon a person hears of a phase change. Rollouts of one app, each asking for approval, with a
// signed-webhook channel pointed at the local inbox: for each rollout, the WaitingApproval and Succeeded
// entries of its timeline (the orchestration's clock, which is the host's here) to the inbox receiving the
// matching CloudEvent. The approver follows the approval link in the received event.
import { startInbox, type InboxMessage } from '../inbox';
import { api, decideThroughPage, follow, type GreenlightHttp } from '../client';
import { startLocalStack } from '../stack';
import { disposeServices } from '../../src/composition';
import { cloudEventTypePrefix } from '../../src/domain/notify/cloudEvent';

const sub = '00000000-0000-0000-0000-0000000000bc';
const app = { subscriptionId: sub, resourceGroup: 'rg-bench', name: 'notified' };
/** Phase of the status timeline → the event that tells of it. */
const measured = { WaitingApproval: 'waitingApproval', Succeeded: 'succeeded' } as const;

interface Figures {
  samples: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
}

function figures(xs: number[]): Figures {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? 0;
  return { samples: s.length, medianMs: at(0.5), p95Ms: at(0.95), maxMs: s.at(-1) ?? 0 };
}

interface CloudEventBody {
  type?: string;
  subject?: string;
  data?: { links?: { approvalPage?: string } };
}

const isEvent = (id: string, kind: string) => (m: InboxMessage) => {
  const ce = m.payload as CloudEventBody;
  return m.accepted && ce.subject === id && ce.type === `${cloudEventTypePrefix}${kind}`;
};

async function startRollout(http: GreenlightHttp, image: string): Promise<string> {
  const res = await api(http, 'POST', '/api/rollouts', { app: app.name, image });
  const body = (await res.json()) as { id?: string };
  if (!res.ok || !body.id)
    throw new Error(`starting ${image} answered ${res.status}: ${JSON.stringify(body)}`);
  return body.id;
}

export async function notifyBench(redisUrl: string, rollouts = 20): Promise<Record<string, unknown>> {
  // The app logs each delivery with console.info (the host's log in Azure): kept off the JSON on stdout.
  const info = console.info;
  console.info = (...args: unknown[]) => void process.stderr.write(`${args.map(String).join(' ')}\n`);
  try {
    return await measure(redisUrl, rollouts);
  } finally {
    console.info = info;
  }
}

async function measure(redisUrl: string, rollouts: number): Promise<Record<string, unknown>> {
  const inbox = await startInbox({ log: () => undefined });
  const stack = await startLocalStack({
    redisUrl,
    policies: [
      {
        name: 'notified',
        app,
        trigger: { registry: 'bench.azurecr.io', repository: 'notified' },
        strategy: { type: 'traffic', steps: [100] },
        validation: { readiness: { timeout: 'PT1M', pollInterval: 'PT1S' }, smoke: [] },
        approval: { required: true, timeout: 'PT10M' },
        bake: 'PT0S',
        watch: { duration: 'PT0S' },
        cleanup: { deactivateAfter: 'PT0S', keepRevisions: 2 },
        concurrency: 'queue',
        notifications: [
          {
            kind: 'webhook',
            urlSetting: 'GREENLIGHT_WEBHOOK_URL',
            secretSetting: 'GREENLIGHT_WEBHOOK_SECRET',
            events: Object.values(measured),
          },
        ],
      },
    ],
    seed: [{ ...app, image: 'bench.azurecr.io/notified:v1' }],
    emulator: { provisioningDelayMs: 0, lroDurationMs: 0 },
    env: {
      ...inbox.settings(),
      GREENLIGHT_TRUST_CLIENT_PRINCIPAL: 'true',
      GREENLIGHT_ARM_POLL_INTERVAL_MS: '1',
      GREENLIGHT_ARM_RETRY_DELAY_MS: '10',
    },
    dropStateOnStop: true,
  });
  const all: number[] = [];
  const byEvent: Record<string, number[]> = {};
  try {
    for (let i = 0; i < rollouts; i++) {
      const id = await startRollout(stack.http, `bench.azurecr.io/notified:v${i + 2}`);
      const asked = await inbox.waitFor(isEvent(id, measured.WaitingApproval), 60_000);
      const page = (asked.payload as CloudEventBody).data?.links?.approvalPage;
      if (!page) throw new Error(`the waitingApproval event of ${id} carries no approval page`);
      const { result } = await decideThroughPage(page, 'approve', 'bench', 'bench@contoso.com');
      if (!result.ok) throw new Error(`approving ${id} through the page answered ${result.status}`);
      const done = await follow(stack.http, id, (v) => v.done, { pollMs: 20, timeoutMs: 60_000 });
      if (done.outcome !== 'Succeeded')
        throw new Error(`rollout ${id} ended ${done.outcome}: ${done.reason ?? ''}`);
      for (const [phase, kind] of Object.entries(measured)) {
        const entered = done.timeline.find((t) => t.phase === phase)?.at;
        const message = await inbox.waitFor(isEvent(id, kind), 30_000);
        if (!entered) throw new Error(`rollout ${id} has no ${phase} in its timeline`);
        const ms = Date.parse(message.receivedAt) - Date.parse(entered);
        all.push(ms);
        (byEvent[kind] ??= []).push(ms);
      }
    }
  } finally {
    await stack.stop();
    await disposeServices();
    await inbox.close();
  }
  return {
    rollouts,
    channel: 'webhook (signed CloudEvent) to the local inbox',
    phaseToInbox: figures(all),
    ...Object.fromEntries(Object.entries(byEvent).map(([k, xs]) => [k, figures(xs)])),
  };
}

// `node dist/local/bench/notify.js [rollouts]` runs this part alone (npm run bench runs it with the rest).
if (require.main === module) {
  notifyBench(process.env.GREENLIGHT_REDIS_URL ?? 'redis://127.0.0.1:6379', Number(process.argv[2] ?? 20))
    .then((figures) => {
      process.stdout.write(`${JSON.stringify({ notify: figures }, null, 2)}\n`);
      process.exit(0);
    })
    .catch((e: unknown) => {
      process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    });
}
