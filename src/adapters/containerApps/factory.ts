import type { ContainerAppsAPIClient } from '@azure/arm-appcontainers';
import type { TokenCredential } from '@azure/identity';
import { type CredentialConfig, createCredential } from '../credentials';
import { AzureContainerAppsAdapter, type AzureContainerAppsAdapterOptions } from './adapter';
import { type ContainerAppsClientOptions, createContainerAppsClient } from './client';

/** The client's options, less what the factory supplies per subscription, plus the adapter's own. */
export interface ContainerAppsAdapterOptions
  extends
    Omit<ContainerAppsClientOptions, 'credential' | 'subscriptionId'>,
    Pick<AzureContainerAppsAdapterOptions, 'lroPollIntervalMs'> {
  /** A credential, or how to make one (managed identity in Azure, a static token for the emulator). */
  credential: CredentialConfig | TokenCredential;
}

function isTokenCredential(c: CredentialConfig | TokenCredential): c is TokenCredential {
  return typeof (c as TokenCredential).getToken === 'function';
}

/** The adapter the composition root uses: one SDK client per subscription, built on first use. */
export function createContainerAppsAdapter(opts: ContainerAppsAdapterOptions): AzureContainerAppsAdapter {
  const { credential: given, lroPollIntervalMs, ...clientOptions } = opts;
  const credential = isTokenCredential(given) ? given : createCredential(given);
  const clients = new Map<string, ContainerAppsAPIClient>();
  return new AzureContainerAppsAdapter({
    lroPollIntervalMs,
    clientFor: (subscriptionId) => {
      let client = clients.get(subscriptionId);
      if (!client) {
        client = createContainerAppsClient({ ...clientOptions, credential, subscriptionId });
        clients.set(subscriptionId, client);
      }
      return client;
    },
  });
}
