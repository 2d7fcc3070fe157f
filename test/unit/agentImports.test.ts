import { spawnSync } from 'node:child_process';

describe('the workload agent package', () => {
  it('loads nothing of the Functions app, Durable Functions or the Azure SDKs', () => {
    const script = `require('./src/agent');
const loaded = Object.keys(require.cache).map((f) => f.replace(process.cwd() + '/', ''));
console.log(JSON.stringify(loaded));`;
    const run = spawnSync(process.execPath, ['-r', './test/support/tsRegister.cjs', '-e', script], {
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    const loaded = JSON.parse(run.stdout) as string[];
    expect(loaded.some((f) => f.startsWith('src/agent/'))).toBe(true);
    const forbidden = loaded.filter((f) =>
      /node_modules\/(durable-functions|@azure)\/|^src\/(functions|orchestrators|activities|composition|config)/.test(
        f,
      ),
    );
    expect(forbidden).toEqual([]);
  });
});
