#!/usr/bin/env node
// What the Function App's deployment package holds, and a check that it holds nothing else:
//   1. the files `func azure functionapp publish` / `azd deploy` upload (the project minus .funcignore);
//   2. the files the server build compiles (`npm run build` = tsconfig.build.json);
//   3. the production dependencies the server installs (`npm ls --omit=dev` without the local workspace,
//      which .funcignore leaves out), and the packages src/ imports.
// Exits 1, naming the problem, when local/, bench/ or test/ code would ship, when the build compiles
// anything outside src/, or when a production dependency is not imported by src/ (or the reverse).
// `--quiet` prints only the summary and problems.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, sep } from 'node:path';
import ignore from 'ignore';
import ts from 'typescript';

const root = process.cwd();
const quiet = process.argv.includes('--quiet');
const problems = [];
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Files under `dir` that .funcignore lets through, as project-relative POSIX paths. */
function uploadedFiles(rules) {
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      const rel = relative(root, abs).split(sep).join('/');
      const isDir = statSync(abs).isDirectory();
      if (rules.ignores(isDir ? `${rel}/` : rel)) continue;
      if (isDir) walk(abs);
      else out.push(rel);
    }
  };
  walk(root);
  return out.sort();
}

/** Project files (not node_modules) that `tsc -p tsconfig.build.json` compiles. */
function compiledFiles() {
  const tsc = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'tsc.cmd' : 'tsc');
  return execFileSync(tsc, ['-p', 'tsconfig.build.json', '--listFilesOnly'], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && !f.includes('/node_modules/'))
    .map((f) => relative(root, f).split(sep).join('/'))
    .sort();
}

/** The production dependency tree the server installs: the root package only, never the workspace. */
function productionTree() {
  const ls = (extra) =>
    execFileSync(npm, ['ls', '--omit=dev', '--workspaces=false', ...extra], { encoding: 'utf8' });
  const top = Object.keys(JSON.parse(ls(['--json'])).dependencies ?? {}).sort();
  const all = ls(['--all', '--parseable'])
    .split('\n')
    .filter((p) => p.includes('node_modules'));
  return {
    top,
    text: ls([]),
    packages: new Set(all.map((p) => p.slice(p.lastIndexOf('node_modules') + 13))),
  };
}

/**
 * Bare package names src/ imports or requires (node: built-ins and relative paths excluded), read by the
 * TypeScript compiler's own import scanner, so text that only looks like an import (a message quoting
 * `from '...'`) is not taken for one.
 */
function packagesImportedBySrc(files) {
  const names = new Set();
  for (const f of files.filter((f) => f.startsWith('src/') && f.endsWith('.ts'))) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(root, f), 'utf8'), true, true);
    for (const { fileName: s } of importedFiles) {
      if (s.startsWith('.') || s.startsWith('node:') || builtinModules.includes(s)) continue;
      names.add(s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]);
    }
  }
  return [...names].sort();
}

const rules = ignore().add(readFileSync(join(root, '.funcignore'), 'utf8'));
const uploaded = uploadedFiles(rules);
const compiled = compiledFiles();
const prod = productionTree();
const imported = packagesImportedBySrc(uploaded);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const declared = Object.keys(pkg.dependencies ?? {}).sort();

for (const f of uploaded) {
  if (/^(local|bench|test)\//.test(f))
    problems.push(`${f} would be uploaded; fix: list its folder in .funcignore`);
}
for (const f of compiled) {
  if (!f.startsWith('src/'))
    problems.push(`the Function App's build compiles ${f}; fix: tsconfig.build.json includes src/ only`);
}
// @azure/functions-core is provided by the Functions host at run time, not installed.
const provided = new Set(['@azure/functions-core']);
for (const name of imported) {
  if (!provided.has(name) && !declared.includes(name))
    problems.push(`src/ imports ${name}, not a production dependency; fix: npm install --save-exact ${name}`);
}
for (const name of declared) {
  if (!imported.includes(name))
    problems.push(
      `production dependency ${name} is not imported by src/; fix: move it to the package that uses it (local/package.json) or to devDependencies`,
    );
}
for (const name of ['fastify', 'selfsigned']) {
  if (prod.packages.has(name))
    problems.push(`${name} is in the production tree; fix: only local/ may depend on it`);
}

if (!quiet) {
  process.stdout.write(
    `# Uploaded (the project minus .funcignore): ${uploaded.length} files\n${uploaded.join('\n')}\n\n`,
  );
  const outside = compiled.filter((f) => !f.startsWith('src/'));
  process.stdout.write(
    `# Compiled on the server (npm run build → dist/src): ${compiled.length} files, ${outside.length} outside src/\n\n`,
  );
  process.stdout.write(`# Production dependencies (npm ls --omit=dev --workspaces=false)\n${prod.text}\n`);
}
const byFolder = {};
for (const f of uploaded) byFolder[f.split('/')[0]] = (byFolder[f.split('/')[0]] ?? 0) + 1;
process.stdout.write(
  `package: ${uploaded.length} files (${Object.entries(byFolder)
    .map(([k, v]) => (v > 1 ? `${k} ${v}` : k))
    .join(
      ', ',
    )}); build: ${compiled.length} files from src/; production: ${prod.top.length} direct dependencies, ${prod.packages.size} packages in all; src/ imports: ${imported.join(', ')}\n`,
);
if (problems.length) {
  process.stdout.write(`problems:\n- ${problems.join('\n- ')}\n`);
  process.exit(1);
}
