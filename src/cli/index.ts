#!/usr/bin/env node
/** `greenlight`: the operators' command line for Greenlight rollouts. */
import { CommanderError } from 'commander';
import { isApiError } from './client';
import { ExitCode } from './exitCodes';
import { buildProgram } from './program';

function describe(e: unknown): string {
  if (isApiError(e)) return `${e.title} (HTTP ${e.status}): ${e.detail}`;
  return e instanceof Error ? e.message : String(e);
}

const program = buildProgram({
  out: process.stdout,
  err: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  setExitCode: (code) => (process.exitCode = code),
});

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode;
    return;
  }
  process.stderr.write(`error: ${describe(e)}\n`);
  process.exitCode = ExitCode.error;
});
