// Three projects, so the fast tests run alone (`npm run test:unit`, `test:integration`, `test:e2e`);
// `npm test` and plain `npx jest` run all three.
//   unit:        pure code and in-memory fakes, no server, no Redis (the folders below)
//   e2e:         the whole local stack driven over HTTP, as the demo does (and the CLI against it)
//   integration: everything else: real Redis, the emulators over HTTPS, the local runtime's parts, so a new
//                folder is never taken for a fast one
const unitFolders = ['unit', 'infra', 'fuzz', 'scenario', 'scenarios', 'cli'];
const e2eFiles = ['<rootDir>/test/e2e/**/*.test.ts', '<rootDir>/test/cli/cli.test.ts'];

const shared = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  // The Functions worker provides this module to @azure/functions; under jest the local runtime does.
  moduleNameMapper: { '^@azure/functions-core$': '<rootDir>/local/runtime/functionsCore.ts' },
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: [`<rootDir>/test/{${unitFolders.join(',')}}/**/*.test.ts`],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cli/cli\\.test\\.ts$'],
    },
    {
      ...shared,
      displayName: 'integration',
      testPathIgnorePatterns: ['/node_modules/', `<rootDir>/test/(${[...unitFolders, 'e2e'].join('|')})/`],
    },
    { ...shared, displayName: 'e2e', testMatch: e2eFiles },
  ],
  // One Redis for the run: the machine's when it answers, else one started here (cheap when it answers).
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
};
