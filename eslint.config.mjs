import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

/** Packages with I/O or a host behind them: the domain speaks through its ports instead. */
const hostPackages = ['durable-functions', '@azure/*', 'ioredis', 'fastify'];

/**
 * One block per folder depth under src/domain, since import paths are relative: at depth n, a path
 * climbing n levels (`../` n times) has left the domain.
 */
function domainImportRules() {
  return [1, 2, 3, 4].map((depth) => ({
    files: [`src/domain/${'*/'.repeat(depth - 1)}*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./){${depth}}`,
              message:
                'src/domain imports nothing outside src/domain: move the type into src/domain (a port in src/domain/ports) instead.',
            },
            {
              group: hostPackages,
              message: 'src/domain is pure: reach I/O through a port in src/domain/ports.',
            },
          ],
        },
      ],
    },
  }));
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '*.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: { allowDefaultProject: ['*.mjs', 'scripts/*.mjs', 'test/support/*.cjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { ...globals.node, ...globals.commonjs }, sourceType: 'commonjs' },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts', 'local/bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Tests load apps synchronously, as the Functions host does.
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // The agent ships inside workloads (`greenlight/agent`): nothing of the Function App comes with it.
    files: ['src/agent/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/functions/**',
                '**/orchestrators/**',
                '**/activities/**',
                '**/services/**',
                '**/composition',
                '**/config',
                // The Redis protocol it shares with the Function App is src/protocol, not an adapter.
                '**/adapters/**',
                'durable-functions',
                '@azure/*',
              ],
              message:
                'The workload agent must not depend on the Function App, Durable Functions or Azure SDKs.',
            },
          ],
        },
      ],
    },
  },
  // The domain is pure and owns its ports: nothing in src/domain imports from outside it.
  ...domainImportRules(),
  {
    // Orchestrators are replayed: anything non-deterministic or with I/O breaks replay.
    files: ['src/orchestrators/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/adapters/**', '@azure/arm-*', '@azure/identity', '@azure/monitor-*', 'ioredis'],
              message: 'Orchestrators must stay deterministic: call an activity instead.',
              // Types describe data; only runtime imports can do I/O.
              allowTypeImports: true,
            },
            {
              group: ['node:*', 'fs', 'http', 'https', 'crypto', 'os', 'child_process', 'net'],
              message: 'No Node built-ins in orchestrators: call an activity instead.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use context.df.currentUtcDateTime.' },
        { object: 'Math', property: 'random', message: 'Use context.df.newGuid.' },
        { object: 'process', property: 'env', message: 'Pass configuration in the orchestration input.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'Use context.df.currentUtcDateTime.',
        },
      ],
    },
  },
  prettier,
);
