// Greenlight's unchanged app on the local runtime, in its own process, against an ARM emulator another process
// runs: a test can SIGKILL it mid-rollout and start another on the same Redis state while the emulator keeps
// its apps. Usage: node -r ./test/support/tsRegister.cjs test/e2e/appHost.ts <config.json>
// (AppHostConfig); prints one JSON line when ready.
import { readFileSync } from 'node:fs';
import { startLocalRuntimeStack } from '../../local/stack';

export interface AppHostConfig {
  redisUrl: string;
  keyPrefix: string;
  keysFile: string;
  emulator: { url: string; caFile: string };
  policies: unknown[];
  env?: Record<string, string>;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: appHost <config.json>');
  const config = JSON.parse(readFileSync(file, 'utf8')) as AppHostConfig;
  const stack = await startLocalRuntimeStack({
    redisUrl: config.redisUrl,
    keyPrefix: config.keyPrefix,
    keysFile: config.keysFile,
    policies: config.policies,
    emulatorAt: config.emulator,
    register: () => require('../../src/index'),
    ...(config.env ? { env: config.env } : {}),
  });
  process.stdout.write(
    `${JSON.stringify({
      ready: true,
      baseUrl: stack.http.baseUrl,
      functionKey: stack.http.functionKey,
      resumed: stack.runtime.resumed,
    })}\n`,
  );
  const stop = (): void => void stack.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
