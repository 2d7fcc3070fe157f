import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, Socket } from 'node:net';

/** True when something answers PING at host:port within the timeout. */
export function redisAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let buffer = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      buffer += d.toString();
      if (buffer.includes('\r\n')) done(buffer.startsWith('+PONG') || buffer.startsWith('-NOAUTH'));
    });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a throwaway redis-server (nothing on disk) and resolves once it answers. */
/** Starts a throwaway redis-server (nothing on disk) and resolves once it answers. */
export async function startRedisServer(port?: number): Promise<{ url: string; process: ChildProcess }> {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const bin = which.stdout.trim();
  if (!bin) {
    throw new Error(
      'No Redis answers and redis-server is not installed: install it (apt-get install redis-server) or point GREENLIGHT_REDIS_URL at a Redis',
    );
  }
  const chosen = port ?? (await freePort());
  const child = spawn(
    bin,
    ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore', detached: false },
  );
  for (let i = 0; i < 100; i++) {
    if (await redisAnswers('127.0.0.1', chosen))
      return { url: `redis://127.0.0.1:${chosen}`, process: child };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server started on port ${chosen} but never answered PING`);
}

/**
 * The Redis at `url` when it answers; otherwise, for a local URL, a throwaway redis-server on a free
 * port (nothing on disk) that `stop()` ends.
 */
export async function ensureRedis(
  url: string,
  log: (line: string) => void = () => undefined,
): Promise<{ url: string; started: boolean; stop(): Promise<void> }> {
  const u = new URL(url);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 6379);
  if (await redisAnswers(host, port)) return { url, started: false, stop: async () => undefined };
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
    throw new Error(
      `Redis at ${host}:${port} does not answer; start it or point GREENLIGHT_REDIS_URL elsewhere`,
    );
  }
  const server = await startRedisServer();
  log(`no Redis answered at ${host}:${port}; started redis-server at ${server.url} (nothing on disk)`);
  return {
    url: server.url,
    started: true,
    stop: async () => {
      if (server.process.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        server.process.once('exit', () => resolve());
        server.process.kill('SIGTERM');
      });
    },
  };
}
