import { resolveAgentOptions } from '../../src/agent';
import { errorCode } from '../../src/domain/errors';

describe('workload agent settings', () => {
  it('reads what the options leave out from the environment, under the names the policy gives', () => {
    const o = resolveAgentOptions({
      prodUrlSetting: 'INGEST_PROD_REDIS',
      env: {
        GREENLIGHT_APP_KEY: 'Sub/RG/Ingest',
        CONTAINER_APP_REVISION: 'ingest--v2',
        CONTAINER_APP_REPLICA_NAME: 'ingest--v2-7d9f',
        INGEST_PROD_REDIS: 'rediss://:key@prod.redis.cache.windows.net:6380',
        TEMP_REDIS_URL: 'redis://temp:6379',
      },
    });
    expect(o).toMatchObject({
      app: 'sub/rg/ingest',
      revision: 'ingest--v2',
      replica: 'ingest--v2-7d9f',
      keyPrefix: 'greenlight:',
      prodUrl: 'rediss://:key@prod.redis.cache.windows.net:6380',
      tempUrl: 'redis://temp:6379',
      rereadIntervalMs: 1000,
      leaseTtlMs: 5000,
      holdLease: true,
    });
  });

  it('names every missing or malformed setting in one error', () => {
    let error: unknown;
    try {
      resolveAgentOptions({
        env: { TEMP_REDIS_URL: 'http://temp' },
        leaseTtlMs: 500,
        heartbeatIntervalMs: 1000,
      });
    } catch (e) {
      error = e;
    }
    expect(errorCode(error)).toBe('InvalidConfiguration');
    const message = (error as Error).message;
    for (const part of [
      'GREENLIGHT_APP_KEY',
      'CONTAINER_APP_REVISION',
      'PROD_REDIS_URL to the production Redis URL',
      'TEMP_REDIS_URL: must be a redis:// or rediss:// URL',
      'leaseTtlMs (500) must be longer than heartbeatIntervalMs (1000)',
    ]) {
      expect(message).toContain(part);
    }
  });
});
