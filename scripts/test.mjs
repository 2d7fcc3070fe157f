#!/usr/bin/env node
// The one test command: lint, type-check, build, deployment package check, jest. Ends with a plain
// `tests: N passed, N failed, N skipped` line computed from jest's JSON results.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const extraJestArgs = process.argv.slice(2);
const resultsFile = '.jest-results.json';
const failedChecks = [];

function step(name, cmd, args) {
  const started = Date.now();
  process.stdout.write(`\n== ${name}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: process.env });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  const ok = r.status === 0;
  process.stdout.write(`== ${name}: ${ok ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${secs}s\n`);
  if (!ok) failedChecks.push(name);
  return ok;
}

const bin = (name) => `node_modules/.bin/${name}`;
step('lint', bin('eslint'), ['.']);
step('format', bin('prettier'), ['--check', '.']);
step('typecheck', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
step('build', bin('tsc'), ['-p', 'tsconfig.build.json']);
// What would be deployed: no local/, bench/ or test/ code, and only the dependencies src/ imports.
step('package', process.execPath, ['scripts/packageList.mjs', '--quiet']);

rmSync(resultsFile, { force: true });
step('jest', bin('jest'), ['--json', `--outputFile=${resultsFile}`, ...extraJestArgs]);

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(resultsFile)) {
  const r = JSON.parse(readFileSync(resultsFile, 'utf8'));
  passed = r.numPassedTests;
  failed = r.numFailedTests;
  skipped = r.numPendingTests + (r.numTodoTests ?? 0);
  // A suite that fails to load runs no test yet is a failure.
  failed += r.numRuntimeErrorTestSuites ?? 0;
} else {
  failed += 1;
}
// Lint, format, type and build failures count as failed checks too.
failed += failedChecks.filter((c) => c !== 'jest').length;
if (failedChecks.length) process.stdout.write(`failed steps: ${failedChecks.join(', ')}\n`);
process.stdout.write(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(failed > 0 || failedChecks.length > 0 ? 1 : 0);
