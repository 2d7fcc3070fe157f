import { DefaultAzureCredential } from '@azure/identity';
import { createCredential, StaticTokenCredential } from '../../../src/adapters/credentials';

describe('credentials', () => {
  it('builds the credential the configuration names, never guessing', async () => {
    const fixed = createCredential({ kind: 'static', token: 'emulator-token' });
    expect(fixed).toBeInstanceOf(StaticTokenCredential);
    expect(await fixed.getToken('https://management.azure.com/.default')).toMatchObject({
      token: 'emulator-token',
      tokenType: 'Bearer',
      expiresOnTimestamp: expect.any(Number),
    });
    expect(
      createCredential({ kind: 'default', managedIdentityClientId: '11111111-2222-3333-4444-555555555555' }),
    ).toBeInstanceOf(DefaultAzureCredential);
  });

  it('refuses an empty static token', () => {
    expect(() => createCredential({ kind: 'static', token: '' })).toThrow(
      'StaticTokenCredential needs a non-empty token',
    );
  });
});
