import { request as httpsRequest } from 'node:https';
import type { ContainerAppsAPIClient } from '@azure/arm-appcontainers';
import {
  type ContainerAppsEmulator,
  type ContainerAppsEmulatorOptions,
  type SeedApp,
  startContainerAppsEmulator,
} from '../../local/containerapps-emulator';
import type { AzureContainerAppsAdapter } from '../../src/adapters/containerApps/adapter';
import { createContainerAppsClient } from '../../src/adapters/containerApps/client';
import {
  type ContainerAppsAdapterOptions,
  createContainerAppsAdapter,
} from '../../src/adapters/containerApps/factory';
import type { AppRef, RevisionInfo } from '../../src/domain/ports/containerApps';
import { StaticTokenCredential } from '../../src/adapters/credentials';

export const testSubscription = '00000000-0000-0000-0000-0000000000aa';
export const testResourceGroup = 'rg-greenlight-test';
export const testToken = 'emulator-test-token';

/** Fast settings for tests: short provisioning and LROs, quick polls, few quick retries. */
export const fastEmulator: ContainerAppsEmulatorOptions = { provisioningDelayMs: 60, lroDurationMs: 10 };
export const fastAdapter: Omit<ContainerAppsAdapterOptions, 'credential'> = {
  maxRetries: 3,
  retryDelayMs: 10,
  maxRetryDelayMs: 40,
  lroPollIntervalMs: 10,
};

export interface EmulatorFixture {
  emulator: ContainerAppsEmulator;
  adapter: AzureContainerAppsAdapter;
  /** The raw SDK client on the same emulator, to bypass the adapter's own checks. */
  client: ContainerAppsAPIClient;
  app: AppRef;
  seed: SeedApp;
  stop(): Promise<void>;
}

/** Starts an emulator with one app already running its first revision (`<name>--v1`), and an adapter on it. */
export async function startEmulatorWithApp(
  opts: {
    app?: Partial<SeedApp>;
    emulator?: ContainerAppsEmulatorOptions;
    adapter?: Partial<ContainerAppsAdapterOptions>;
  } = {},
): Promise<EmulatorFixture> {
  const seed: SeedApp = {
    subscriptionId: testSubscription,
    resourceGroup: testResourceGroup,
    name: 'web',
    image: 'greenlight.azurecr.io/web:v1',
    ...opts.app,
  };
  const emulator = await startContainerAppsEmulator({ ...fastEmulator, ...opts.emulator, seed: [seed] });
  const adapter = createContainerAppsAdapter({
    credential: new StaticTokenCredential(testToken),
    endpoint: emulator.url,
    ca: emulator.ca,
    ...fastAdapter,
    ...opts.adapter,
  });
  const client = createContainerAppsClient({
    credential: new StaticTokenCredential(testToken),
    subscriptionId: seed.subscriptionId,
    endpoint: emulator.url,
    ca: emulator.ca,
    maxRetries: fastAdapter.maxRetries,
    retryDelayMs: fastAdapter.retryDelayMs,
    maxRetryDelayMs: fastAdapter.maxRetryDelayMs,
  });
  const app: AppRef = {
    subscriptionId: seed.subscriptionId,
    resourceGroup: seed.resourceGroup,
    name: seed.name,
  };
  return { emulator, adapter, client, app, seed, stop: () => emulator.stop() };
}

/** Polls getRevision until provisioning has settled (healthy, unhealthy, failed or inactive). */
export async function waitForRevisionToSettle(
  fx: Pick<EmulatorFixture, 'adapter' | 'app'>,
  revisionName: string,
  intervalMs = 20,
  maxPolls = 500,
): Promise<{ revision: RevisionInfo; polls: number }> {
  for (let polls = 1; ; polls++) {
    const revision = await fx.adapter.getRevision(fx.app, revisionName);
    const settled =
      !revision.active ||
      revision.provisioningState === 'Failed' ||
      (revision.provisioningState === 'Provisioned' && revision.healthState !== 'None');
    if (settled) return { revision, polls };
    if (polls >= maxPolls) {
      throw new Error(
        `timed out waiting for ${revisionName} to settle: ${revision.provisioningState}/${revision.healthState}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Caught error of a promise that must reject. */
export async function rejectionOf(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, loosely typed: tests assert on ARM's wire shape. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** A plain HTTPS request to the emulator (no SDK), trusting its CA. */
export function emulatorRequest(
  emulator: Pick<ContainerAppsEmulator, 'port' | 'ca'>,
  method: string,
  path: string,
  opts: { token?: string | null; body?: unknown } = {},
): Promise<RawResponse> {
  const token = opts.token === undefined ? testToken : opts.token;
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: emulator.port,
        method,
        path,
        ca: emulator.ca,
        headers: {
          ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text ? JSON.parse(text) : undefined,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export function appPath(app: AppRef, rest = ''): string {
  return `/subscriptions/${app.subscriptionId}/resourceGroups/${app.resourceGroup}/providers/Microsoft.App/containerApps/${app.name}${rest}`;
}
