import { type AccessToken, DefaultAzureCredential, type TokenCredential } from '@azure/identity';

/**
 * How Greenlight authenticates to ARM, chosen explicitly (never by probing):
 * - `default`: DefaultAzureCredential, i.e. the Function App's managed identity in Azure (a user-assigned one
 *   when `managedIdentityClientId` is set), or a developer's az/azd login.
 * - `static`: a fixed bearer token, only for the local Container Apps emulator.
 */
export type CredentialConfig =
  { kind: 'default'; managedIdentityClientId?: string } | { kind: 'static'; token: string };

/** A TokenCredential that always returns the same token (the emulator checks only that one is sent). */
export class StaticTokenCredential implements TokenCredential {
  constructor(
    private readonly token: string,
    private readonly lifetimeMs = 60 * 60 * 1000,
  ) {
    if (!token) throw new Error('StaticTokenCredential needs a non-empty token');
  }

  async getToken(): Promise<AccessToken> {
    return { token: this.token, expiresOnTimestamp: Date.now() + this.lifetimeMs, tokenType: 'Bearer' };
  }
}

export function createCredential(config: CredentialConfig): TokenCredential {
  switch (config.kind) {
    case 'static':
      return new StaticTokenCredential(config.token);
    case 'default':
      return new DefaultAzureCredential(
        config.managedIdentityClientId ? { managedIdentityClientId: config.managedIdentityClientId } : {},
      );
  }
}
