// A local runtime in its own process, so a test can SIGKILL it mid-flight and start another on the same state.
// Usage: node -r ./test/support/tsRegister.cjs test/runtime/crashHost.ts <redisUrl> <keyPrefix> <keysFile>
import { startLocalRuntime } from '../../local/runtime';

async function main(): Promise<void> {
  const [redisUrl, keyPrefix, keysFile] = process.argv.slice(2);
  if (!redisUrl || !keyPrefix || !keysFile)
    throw new Error('usage: crashHost <redisUrl> <keyPrefix> <keysFile>');
  process.env.CONFORMANCE_REDIS_URL = redisUrl;
  const runtime = await startLocalRuntime({
    register: () => require('./conformanceApp'),
    redisUrl,
    keyPrefix,
    keysFile,
  });
  // One JSON line the parent waits for.
  process.stdout.write(
    `${JSON.stringify({ ready: true, baseUrl: runtime.baseUrl, systemKey: runtime.keys.system, resumed: runtime.resumed })}\n`,
  );
  const stop = (): void => void runtime.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});
