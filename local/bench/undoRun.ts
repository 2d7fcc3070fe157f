#!/usr/bin/env node
/**
 * The undo part of `npm run bench` alone: `node dist/local/bench/undoRun.js [stall]`; `stall` runs only the
 * stalled-producer phase (a green that stalls after the flip → blue processing again, the sink audited).
 */
import { provideFunctionsCore } from '../runtime/hook';
import { undoBench } from './undo';

provideFunctionsCore();

async function main(): Promise<void> {
  const stallOnly = process.argv.slice(2).includes('stall');
  const undo = await undoBench(process.env.GREENLIGHT_REDIS_URL ?? 'redis://127.0.0.1:6379', { stallOnly });
  process.stdout.write(`${JSON.stringify({ node: process.version, undo }, null, 2)}\n`);
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
