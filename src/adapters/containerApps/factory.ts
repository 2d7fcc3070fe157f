import type { ContainerAppsAPIClient } from '@azure/arm-appcontainers';
import type { TokenCredential } from '@azure/identity';
import { type CredentialConfig, createCredential } from '../credentials';
import { AzureContainerAppsAdapter } from './adapter';
import { createContainerAppsClient } from './client';

export interface ContainerAppsAdapterOptions {
  /** A credential, or how to make one (managed identity in Azure, a static token for the emulator). */
  credential: CredentialConfig | TokenCredential;
  /** ARM endpoint; default https://management.azure.com. */
  endpoint?: string;
  /** PEM of a CA to trust (the emulator's certificate). */
  ca?: string;
  maxRetries?: number;
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  maxRetryAfterMs?: number;
  apiVersion?: string;
  /** Poll interval of long-running operations when ARM sends no Retry-After; default 2000 ms. */
  lroPollIntervalMs?: number;
}

function isTokenCredential(c: CredentialConfig | TokenCredential): c is TokenCredential {
  return typeof (c as TokenCredential).getToken === 'function';
}

/** The adapter the composition root uses: one SDK client per subscription, built on first use. */
export function createContainerAppsAdapter(opts: ContainerAppsAdapterOptions): AzureContainerAppsAdapter {
  const credential = isTokenCredential(opts.credential) ? opts.credential : createCredential(opts.credential);
  const clients = new Map<string, ContainerAppsAPIClient>();
  return new AzureContainerAppsAdapter({
    lroPollIntervalMs: opts.lroPollIntervalMs,
    clientFor: (subscriptionId) => {
      let client = clients.get(subscriptionId);
      if (!client) {
        client = createContainerAppsClient({
          credential,
          subscriptionId,
          endpoint: opts.endpoint,
          ca: opts.ca,
          maxRetries: opts.maxRetries,
          retryDelayMs: opts.retryDelayMs,
          maxRetryDelayMs: opts.maxRetryDelayMs,
          maxRetryAfterMs: opts.maxRetryAfterMs,
          apiVersion: opts.apiVersion,
        });
        clients.set(subscriptionId, client);
      }
      return client;
    },
  });
}
