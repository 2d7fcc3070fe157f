import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FetchSmokeProber } from '../../src/adapters/http/smokeProber';
import type { SmokeCheck } from '../../src/domain/rollout/types';

let server: Server;
let base: string;
let flaky = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/healthz') return void res.end('{"status":"ok"}');
    if (req.url === '/down') return void res.writeHead(503).end('down');
    if (req.url === '/slow') return void setTimeout(() => res.end('ok'), 300);
    if (req.url === '/endless') {
      // A streaming endpoint: headers at once, then a body that never ends.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('ready ');
      const tick = setInterval(() => res.write('x'.repeat(1024)), 5);
      res.on('close', () => clearInterval(tick));
      return;
    }
    if (req.url === '/flaky') return void (flaky++ === 0 ? res.writeHead(500).end() : res.end('ok'));
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise((r) => server.close(r)));

const check = (over: Partial<SmokeCheck>): SmokeCheck => ({
  name: 'health',
  path: '/healthz',
  method: 'GET',
  expectStatus: [200],
  latencyBudgetMs: 2000,
  retries: 0,
  ...over,
});

describe('smoke prober against a real HTTP endpoint', () => {
  const prober = new FetchSmokeProber(10);

  it('passes a healthy endpoint with status, body and latency', async () => {
    const r = await prober.run(base, [check({ bodyContains: '"ok"' })]);
    expect(r.passed).toBe(true);
    expect(r.results[0]).toMatchObject({ name: 'health', ok: true, status: 200 });
  });

  it('fails on a wrong status, naming what was expected', async () => {
    const r = await prober.run(base, [check({ path: '/down' })]);
    expect(r.passed).toBe(false);
    expect(r.results[0]?.message).toBe('GET /down returned 503, expected 200 (after 1 attempt(s))');
  });

  it('fails when the body lacks the expected text', async () => {
    const r = await prober.run(base, [check({ bodyContains: 'v2' })]);
    expect(r.results[0]?.message).toContain("body does not contain 'v2'");
  });

  it('does not wait for the end of a body it does not need, nor read past what it does', async () => {
    const r = await prober.run(base, [
      check({ name: 'status only', path: '/endless' }),
      check({ name: 'prefix', path: '/endless', bodyContains: 'ready' }),
    ]);
    expect(r.results.map((x) => [x.name, x.ok])).toEqual([
      ['status only', true],
      ['prefix', true],
    ]);
  });

  it('fails an answer over its latency budget', async () => {
    const r = await prober.run(base, [check({ path: '/slow', latencyBudgetMs: 50 })]);
    expect(r.passed).toBe(false);
    expect(r.results[0]?.message).toMatch(/took \d+ ms, budget 50 ms/);
  });

  it('retries a check before failing it', async () => {
    const r = await prober.run(base, [check({ path: '/flaky', retries: 1 })]);
    expect(r.passed).toBe(true);
  });

  it('reports an unreachable endpoint as a failed check, not an exception', async () => {
    const r = await prober.run('http://127.0.0.1:1/', [check({})]);
    expect(r.passed).toBe(false);
    expect(r.results[0]?.message).toContain('failed');
  });

  it('adds the dependencies check', async () => {
    const r = await prober.run(base, [check({})], { path: '/down', expectStatus: [200] });
    expect(r.results.map((x) => x.name)).toEqual(['health', 'dependencies']);
    expect(r.passed).toBe(false);
  });
});
