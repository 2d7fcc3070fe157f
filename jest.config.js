// Three projects, so the fast tests run alone (`npm run test:unit`, `test:integration`, `test:e2e`);
// `npm test` and plain `npx jest` run all three.
//   unit:        pure code and in-memory fakes, no server, no Redis: every test folder not named below
//   integration: real Redis, the emulators over HTTPS, the local runtime's parts, packaging checks
//   e2e:         the whole local stack driven over HTTP, as the demo does
const integrationFolders = ['integration', 'adapters', 'emulator', 'runtime', 'support', 'packaging'];
const folderPattern = (folders) => `<rootDir>/test/(${folders.join('|')})/`;

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
      testPathIgnorePatterns: ['/node_modules/', folderPattern([...integrationFolders, 'e2e'])],
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: integrationFolders.map((folder) => `<rootDir>/test/${folder}/**/*.test.ts`),
    },
    { ...shared, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
  // One Redis for the run: the machine's when it answers, else one started here (cheap when it answers).
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
};
