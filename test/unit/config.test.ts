import { loadConfig } from '../../src/config';
import { errorCode } from '../../src/domain/errors';

const valid = {
  GREENLIGHT_POLICIES_PATH: 'examples/policies',
  GREENLIGHT_REDIS_URL: 'redis://127.0.0.1:6379',
  GREENLIGHT_APPROVAL_SIGNING_KEY: 'k'.repeat(32),
};

describe('configuration', () => {
  it('loads with defaults for everything optional', () => {
    const c = loadConfig(valid);
    expect(c.arm.endpoint).toBe('https://management.azure.com');
    expect(c.arm.credential).toEqual({ kind: 'default', managedIdentityClientId: undefined });
    expect(c.redis.keyPrefix).toBe('greenlight:');
    expect(c.revisionUrlScheme).toBe('https');
  });

  it('derives the public base URL from WEBSITE_HOSTNAME in Azure', () => {
    expect(loadConfig({ ...valid, WEBSITE_HOSTNAME: 'gl.azurewebsites.net' }).approval.publicBaseUrl).toBe(
      'https://gl.azurewebsites.net',
    );
  });

  it('refuses the example signing key placeholder', () => {
    const example = JSON.parse(
      require('node:fs').readFileSync(
        require('node:path').join(__dirname, '../../local.settings.example.json'),
        'utf8',
      ),
    ) as { Values: Record<string, string> };
    expect(() =>
      loadConfig({
        ...valid,
        GREENLIGHT_APPROVAL_SIGNING_KEY: example.Values.GREENLIGHT_APPROVAL_SIGNING_KEY,
      }),
    ).toThrow(/GREENLIGHT_APPROVAL_SIGNING_KEY: is still the example placeholder/);
  });

  it('treats a blank setting as unset, as App Service passes it', () => {
    const c = loadConfig({ ...valid, GREENLIGHT_ARM_MAX_RETRIES: '', GREENLIGHT_REDIS_KEY_PREFIX: '' });
    expect(c.arm.maxRetries).toBe(4);
    expect(c.redis.keyPrefix).toBe('greenlight:');
    expect(() => loadConfig({ ...valid, GREENLIGHT_REDIS_URL: '' })).toThrow(/GREENLIGHT_REDIS_URL/);
  });

  it('refuses an ARM endpoint that is not https, and an unknown trust switch', () => {
    for (const endpoint of ['http://127.0.0.1:8443', 'ftp://x']) {
      expect(() => loadConfig({ ...valid, GREENLIGHT_ARM_ENDPOINT: endpoint })).toThrow(
        /GREENLIGHT_ARM_ENDPOINT: must be an https URL/,
      );
    }
    expect(() => loadConfig({ ...valid, GREENLIGHT_TRUST_CLIENT_PRINCIPAL: 'yes' })).toThrow(
      /GREENLIGHT_TRUST_CLIENT_PRINCIPAL: must be 'true' or 'false'/,
    );
    expect(loadConfig(valid).approval.trustClientPrincipal).toBe(false);
    expect(
      loadConfig({ ...valid, GREENLIGHT_TRUST_CLIENT_PRINCIPAL: 'true' }).approval.trustClientPrincipal,
    ).toBe(true);
  });

  it('lists every problem in one error', () => {
    let error: unknown;
    try {
      loadConfig({
        GREENLIGHT_REDIS_URL: 'http://nope',
        GREENLIGHT_APPROVAL_SIGNING_KEY: 'short',
        GREENLIGHT_CREDENTIAL: 'static',
        GREENLIGHT_ARM_MAX_RETRIES: 'lots',
      });
    } catch (e) {
      error = e;
    }
    expect(errorCode(error)).toBe('InvalidConfiguration');
    const message = (error as Error).message;
    expect(message).toContain('GREENLIGHT_REDIS_URL: must be a redis:// or rediss:// URL');
    expect(message).toContain('GREENLIGHT_APPROVAL_SIGNING_KEY: must hold at least 32 characters');
    expect(message).toContain('GREENLIGHT_POLICIES_PATH: set GREENLIGHT_POLICIES_PATH');
    expect(message).toContain("GREENLIGHT_STATIC_TOKEN: is required when GREENLIGHT_CREDENTIAL is 'static'");
    expect(message).toContain('GREENLIGHT_ARM_MAX_RETRIES');
    expect(message).toMatch(/5 app setting problem\(s\)/);
  });
});
