#!/usr/bin/env node
/** The ARM part of `npm run bench` alone: `node dist/local/bench/armRun.js [instant|production|scale|flood|outage|outage30]...`. */
import { provideFunctionsCore } from '../runtime/hook';
import { oneRolloutInstant, oneRolloutProduction, rollbackAfterOutage, scaleRun } from './arm';
import { eventFlood } from './flood';

provideFunctionsCore();

async function main(): Promise<void> {
  const which = process.argv.slice(2);
  const all = which.length === 0;
  const out: Record<string, unknown> = { node: process.version };
  if (all || which.includes('instant')) out.oneRolloutInstant = await oneRolloutInstant();
  if (all || which.includes('production')) out.oneRolloutProduction = await oneRolloutProduction();
  if (all || which.includes('scale')) out.scale = await scaleRun();
  if (all || which.includes('flood')) out.eventFlood = await eventFlood();
  if (all || which.includes('outage')) out.rollbackAfterOutage = await rollbackAfterOutage();
  if (all || which.includes('outage30')) out.rollbackAfter30sOutage = await rollbackAfterOutage(30_000);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
