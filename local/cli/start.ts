#!/usr/bin/env node
/**
 * `npm start`: the local Functions runtime with Greenlight's unchanged app, the Container Apps emulator
 * (apps seeded from the policies) and Redis (a throwaway one when none answers). Prints every endpoint
 * and one line per invocation and orchestration step; Ctrl-C stops everything.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { loadPolicies } from '../../src/domain/policy';
import { generateLoad } from '../containerapps-emulator';
import { startInbox } from '../inbox';
import { loadSecret } from '../runtime/keys';
import { readFileSync } from 'node:fs';
import {
  startLocalRuntimeStack,
  startLocalStack,
  type EmulatorEndpoints,
  type LocalStackOptions,
} from '../stack';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError(`--port must be a whole number from 0 to 65535; got '${value}'`);
  }
  return n;
}

async function main(): Promise<void> {
  const opts = new Command()
    .name('greenlight-start')
    .description('Run Greenlight locally: Functions runtime + Container Apps emulator + Redis')
    .option('-p, --port <port>', 'Function App port on 127.0.0.1', port, 7071)
    .option(
      '--redis <url>',
      'Redis to use (a throwaway one is started when none answers)',
      'redis://127.0.0.1:6379',
    )
    .option('--policies <path>', 'policy file or folder', 'examples/policies')
    .option('--key-prefix <prefix>', 'Redis key prefix for this runtime', 'greenlight-local:')
    .option(
      '--emulator-url <url>',
      'use the ARM emulator already running there (`npm run emulator`) instead of starting one: the runtime alone can then be restarted',
    )
    .option(
      '--emulator-ca <file>',
      'with --emulator-url: the CA certificate it serves',
      '.greenlight/emulator-ca.pem',
    )
    .showHelpAfterError()
    .parse()
    .opts<{
      port: number;
      redis: string;
      policies: string;
      keyPrefix: string;
      emulatorUrl?: string;
      emulatorCa: string;
    }>();

  const policies = await loadPolicies({ path: opts.policies });
  const line = (s: string): void =>
    void process.stdout.write(`${new Date().toISOString().slice(11, 23)} ${s}\n`);
  // Every app a policy targets exists in the emulator, serving a first revision, so a push can roll it out.
  const seed = policies.map((p) => {
    const repo = p.trigger && !/[*?[{]/.test(p.trigger.repository) ? p.trigger.repository : p.app.name;
    const image = `${p.trigger?.registry ?? 'local.azurecr.io'}/${repo}:v1`;
    // A flag policy's app is an always-on TCP worker: its revisions run the agent against this Redis.
    return p.strategy.type === 'flag'
      ? { ...p.app, image, ingress: false as const, workload: { kind: 'tcp' as const } }
      : { ...p.app, image };
  });
  const flagPolicy = policies.find((p) => p.strategy.type === 'flag');
  // The emulator runs every TCP worker under one key prefix: policies naming others cannot be served.
  const prefixes = new Set(
    policies.flatMap((p) => (p.strategy.type === 'flag' ? [p.strategy.keyPrefix] : [])),
  );
  if (prefixes.size > 1) {
    throw new Error(
      `flag policies use different strategy.keyPrefix values (${[...prefixes].join(', ')}); the local emulator runs all TCP workers under one, so give them the same`,
    );
  }
  // The local Log Analytics answers the workspace the policies' gates name (one per process).
  const workspaceId = policies.flatMap((p) =>
    p.gates.flatMap((g) => (g.workspaceId ? [g.workspaceId] : [])),
  )[0];
  // Kept in .greenlight/ like the host keys: approval links shown before a restart keep working after it.
  const signingKey = await loadSecret(resolve('.greenlight/approval-signing-key'));
  const external = opts.emulatorUrl ? externalEmulator(opts.emulatorUrl, opts.emulatorCa) : undefined;
  if (external && flagPolicy) {
    line(
      'flag policies need TCP workers on this Redis, which an emulator started apart does not run: their apps are not seeded',
    );
  }
  const startStack = external
    ? (o: LocalStackOptions) =>
        startLocalRuntimeStack({
          ...o,
          seed: (o.seed ?? []).filter((app) => app.workload?.kind !== 'tcp'),
          emulatorAt: external,
        })
    : startLocalStack;
  // The policies' notification channels deliver here: one line per message, all of them at /inbox.
  const inbox = await startInbox({ log: line });
  const stack = await startStack({
    // App Service authentication, played by the local runtime (/.auth/login/local), and the app told to
    // believe the principal it injects: approvers sign in here as they would in Azure.
    env: {
      GREENLIGHT_APPROVAL_SIGNING_KEY: signingKey,
      WEBSITE_AUTH_ENABLED: 'True',
      GREENLIGHT_TRUST_CLIENT_PRINCIPAL: 'true',
      // The app settings the policies' channels name (GREENLIGHT_TEAMS_URL, ...), pointed at the inbox.
      ...inbox.settings(),
    },
    redisUrl: opts.redis,
    keyPrefix: opts.keyPrefix,
    ...(workspaceId ? { emulator: { monitor: { workspaceId } } } : {}),
    policiesPath: opts.policies,
    seed,
    port: opts.port,
    log: line,
    ...(flagPolicy?.strategy.type === 'flag'
      ? { tcpWorkers: { keyPrefix: flagPolicy.strategy.keyPrefix } }
      : {}),
  });
  const gl = stack.http;
  // Visitors: every HTTP app's ingress gets a steady 2 requests/s, as a production app has users, so the
  // example's gates measure green's real share of traffic (the emulated Log Analytics has these rows).
  const visitors = new AbortController();
  for (const p of policies) {
    if (p.strategy.type !== 'traffic') continue;
    const emulator = stack.emulator;
    const fqdn = 'appView' in emulator ? emulator.appView(p.app)?.ingressFqdn : undefined;
    if (!fqdn) continue;
    generateLoad({
      urls: [`http://${fqdn}/`],
      rps: 2,
      durationMs: 7 * 24 * 3600_000,
      signal: visitors.signal,
    }).catch((e: unknown) => line(`visitors to ${p.app.name} stopped: ${String(e)}`));
    line(`visitors: 2 requests/s to ${p.app.name} at http://${fqdn}/`);
  }
  // `greenlight --local` reads where this runtime listens, and its function key, from here.
  writeFileSync(
    '.greenlight/local.json',
    `${JSON.stringify({ url: gl.baseUrl, functionKey: gl.functionKey }, null, 2)}\n`,
    { mode: 0o600 },
  );
  const out = (s = ''): void => void process.stdout.write(`${s}\n`);
  out('\nGreenlight is running locally');
  out(`  Function App        ${gl.baseUrl}`);
  for (const f of stack.runtime.functions()) {
    if (f.trigger === 'httpTrigger')
      out(`    http              ${gl.baseUrl}/api/${f.route ?? f.name}  (${f.name})`);
    if (f.trigger === 'eventGridTrigger') {
      out(
        `    event grid        ${gl.baseUrl}/runtime/webhooks/eventgrid?functionName=${f.name}&code=<system key>`,
      );
    }
  }
  out(`  Durable HTTP API    ${gl.baseUrl}/runtime/webhooks/durabletask/instances?code=<system key>`);
  out(`  ARM emulator        ${stack.emulator.url}  (CA: ${stack.emulator.caFile ?? 'in memory'})`);
  out(`  Redis               ${stack.redisUrl}  (prefix ${stack.keyPrefix})`);
  out(
    `  keys                function ${gl.functionKey}  system ${gl.systemKey}  (.greenlight/host-keys.json)`,
  );
  out(`  policies            ${policies.map((p) => `${p.name} (${p.strategy.type})`).join(', ')}`);
  const channels = policies.flatMap((p) => p.notifications.map((c) => `${p.name}: ${c.name}`));
  out(
    `  notifications       ${inbox.url}/inbox  (a page in a browser; ${channels.length ? channels.join(', ') : 'no policy lists a channel'})`,
  );
  out('\nTry:');
  out(
    `  node dist/src/cli/index.js --local rollout --app ${policies[0]?.name ?? 'web'} --image ${seed[0]?.image.replace(/:v1$/, ':v2') ?? ''}`,
  );
  out('  node dist/src/cli/index.js --local status <id> --watch        (or, with curl:)');
  out(
    `  curl -s -X POST '${gl.baseUrl}/api/rollouts' -H 'x-functions-key: ${gl.functionKey}' -H 'content-type: application/json' \\`,
  );
  out(
    `    -d '{"app":"${policies[0]?.name ?? 'web'}","image":"${seed[0]?.image.replace(/:v1$/, ':v2') ?? ''}"}'`,
  );
  out('Ctrl-C stops.\n');

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    visitors.abort();
    line('stopping…');
    Promise.all([stack.stop(), inbox.close()]).then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`stop failed: ${String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** The emulator `npm run emulator` started, with the monitoring endpoints it wrote down when they match. */
function externalEmulator(url: string, caFile: string): EmulatorEndpoints {
  const base = url.replace(/\/+$/, '');
  let written: Partial<EmulatorEndpoints> = {};
  try {
    written = JSON.parse(readFileSync(resolve('.greenlight/emulator.json'), 'utf8')) as EmulatorEndpoints;
  } catch {
    // Not written (an older emulator, another folder): gates that read monitoring have no endpoint.
  }
  return {
    url: base,
    caFile: resolve(caFile),
    ...(written.url === base && written.metricsUrl ? { metricsUrl: written.metricsUrl } : {}),
    ...(written.url === base && written.logsUrl ? { logsUrl: written.logsUrl } : {}),
  };
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
