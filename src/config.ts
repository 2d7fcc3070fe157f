import { z } from 'zod';
import { GreenlightError } from './domain/errors';

/**
 * App settings, validated once at start-up. Every problem is listed in one error so an operator
 * fixes them all in one pass instead of one per restart.
 */
const settingsSchema = z.object({
  GREENLIGHT_POLICIES_PATH: z.string().min(1).optional(),
  GREENLIGHT_POLICIES: z.string().min(1).optional(),
  GREENLIGHT_REDIS_URL: z
    .string()
    .regex(
      /^rediss?:\/\//,
      'must be a redis:// or rediss:// URL, e.g. rediss://:key@name.redis.cache.windows.net:6380',
    ),
  GREENLIGHT_REDIS_KEY_PREFIX: z.string().min(1).default('greenlight:'),
  GREENLIGHT_APPROVAL_SIGNING_KEY: z
    .string()
    .min(32, 'must hold at least 32 characters of secret (e.g. `openssl rand -base64 48`), from Key Vault'),
  GREENLIGHT_PUBLIC_BASE_URL: z.url('must be the public https URL of this Function App').optional(),
  WEBSITE_HOSTNAME: z.string().optional(),
  GREENLIGHT_ARM_ENDPOINT: z
    .url({ protocol: /^https$/, message: 'must be an https URL (the Azure SDK sends tokens over TLS only)' })
    .default('https://management.azure.com'),
  GREENLIGHT_ARM_CA_FILE: z.string().min(1).optional(),
  GREENLIGHT_ARM_MAX_RETRIES: z.coerce
    .number({ message: 'must be a whole number from 0 to 10' })
    .int()
    .min(0)
    .max(10)
    .default(4),
  GREENLIGHT_ARM_RETRY_DELAY_MS: z.coerce
    .number({ message: 'must be milliseconds from 1 to 60000' })
    .int()
    .min(1)
    .max(60_000)
    .default(800),
  GREENLIGHT_ARM_POLL_INTERVAL_MS: z.coerce
    .number({ message: 'must be milliseconds from 1 to 60000' })
    .int()
    .min(1)
    .max(60_000)
    .default(2000),
  GREENLIGHT_CREDENTIAL: z.enum(['default', 'static']).default('default'),
  GREENLIGHT_STATIC_TOKEN: z.string().min(1).optional(),
  AZURE_CLIENT_ID: z.string().optional(),
  GREENLIGHT_REVISION_URL_SCHEME: z.enum(['https', 'http']).default('https'),
  GREENLIGHT_MONITOR_METRICS_ENDPOINT: z
    .url({
      protocol: /^https$/,
      message:
        "must be the https metrics endpoint of the apps' region, e.g. https://westeurope.metrics.monitor.azure.com",
    })
    .optional(),
  GREENLIGHT_MONITOR_LOGS_ENDPOINT: z
    .url({ protocol: /^https$/, message: 'must be an https URL, e.g. https://api.loganalytics.io/v1' })
    .default('https://api.loganalytics.io/v1'),
  GREENLIGHT_MONITOR_CA_FILE: z.string().min(1).optional(),
  GREENLIGHT_TRUST_CLIENT_PRINCIPAL: z
    .enum(['true', 'false'], { message: "must be 'true' or 'false'" })
    .default('false'),
  /** Global deploy windows and freezes: a YAML or JSON file, or the document inline. */
  GREENLIGHT_CHANGE_CONTROL_PATH: z.string().optional(),
  GREENLIGHT_CHANGE_CONTROL: z.string().optional(),
  GREENLIGHT_AUDIT_MAX_ENTRIES_PER_APP: z.coerce
    .number({ message: 'must be a whole number of audit entries kept per app, from 100 to 1000000' })
    .int()
    .min(100)
    .max(1_000_000)
    .default(10_000),
  GREENLIGHT_AUDIT_RETENTION_DAYS: z.coerce
    .number({
      message: 'must be a whole number of days from 1 to 3650 (unset: kept until the per-app bound)',
    })
    .int()
    .min(1)
    .max(3650)
    .optional(),
});

/** Checks across settings, run on the raw values so they are reported alongside field errors. */
function crossFieldProblems(env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  if (!env.GREENLIGHT_POLICIES_PATH && !env.GREENLIGHT_POLICIES) {
    problems.push(
      'GREENLIGHT_POLICIES_PATH: set GREENLIGHT_POLICIES_PATH (a policy file or folder) or GREENLIGHT_POLICIES (inline JSON/YAML)',
    );
  }
  // The example settings ship a placeholder long enough to pass the length rule; a copy left as is
  // would sign approval links with a key everyone knows.
  if (env.GREENLIGHT_APPROVAL_SIGNING_KEY?.startsWith('replace-with')) {
    problems.push(
      'GREENLIGHT_APPROVAL_SIGNING_KEY: is still the example placeholder; set a secret, e.g. `openssl rand -base64 48`',
    );
  }
  if (env.GREENLIGHT_CREDENTIAL === 'static' && !env.GREENLIGHT_STATIC_TOKEN) {
    problems.push(
      "GREENLIGHT_STATIC_TOKEN: is required when GREENLIGHT_CREDENTIAL is 'static' (emulator only)",
    );
  }
  return problems;
}

export interface GreenlightConfig {
  policies: { path?: string; inline?: string };
  redis: { url: string; keyPrefix: string };
  approval: {
    signingKey: string;
    publicBaseUrl?: string;
    /**
     * Take the approver from `x-ms-client-principal-name`. Only App Service authentication makes that
     * header trustworthy (it strips what callers send); without it anyone could claim to be an approver.
     */
    trustClientPrincipal: boolean;
  };
  arm: {
    endpoint: string;
    caFile?: string;
    maxRetries: number;
    retryDelayMs: number;
    /** Long-running operation poll interval when ARM sends no Retry-After. */
    pollIntervalMs: number;
    credential: { kind: 'default'; managedIdentityClientId?: string } | { kind: 'static'; token: string };
  };
  revisionUrlScheme: 'https' | 'http';
  /** Where analysis gates query Azure Monitor (the local emulators in development). */
  monitor: { metricsEndpoint?: string; logsEndpoint: string; caFile?: string };
  /** The audit trail's bounds: entries kept per app, and optionally a maximum age. */
  audit: { maxEntriesPerApp: number; retentionMs?: number };
  /** Where the global change-control rules are (neither: none). */
  changeControl: { path?: string; inline?: string };
}

export function loadConfig(given: NodeJS.ProcessEnv = process.env): GreenlightConfig {
  // App Service hands a setting left blank as '': treat it as unset, so it gets its default (a blank
  // GREENLIGHT_ARM_MAX_RETRIES must not become 0 retries) or its "required" message.
  const env = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== ''));
  const parsed = settingsSchema.safeParse(env);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)),
    ...crossFieldProblems(env),
  ];
  if (!parsed.success || problems.length > 0) {
    throw new GreenlightError(
      'InvalidConfiguration',
      `Greenlight cannot start: ${problems.length} app setting problem(s):\n  - ${problems.join('\n  - ')}`,
      { problems },
    );
  }
  const s = parsed.data;
  const publicBaseUrl =
    s.GREENLIGHT_PUBLIC_BASE_URL ?? (s.WEBSITE_HOSTNAME ? `https://${s.WEBSITE_HOSTNAME}` : undefined);
  return {
    policies: { path: s.GREENLIGHT_POLICIES_PATH, inline: s.GREENLIGHT_POLICIES },
    redis: { url: s.GREENLIGHT_REDIS_URL, keyPrefix: s.GREENLIGHT_REDIS_KEY_PREFIX },
    approval: {
      signingKey: s.GREENLIGHT_APPROVAL_SIGNING_KEY,
      publicBaseUrl: publicBaseUrl?.replace(/\/+$/, ''),
      trustClientPrincipal: s.GREENLIGHT_TRUST_CLIENT_PRINCIPAL === 'true',
    },
    arm: {
      endpoint: s.GREENLIGHT_ARM_ENDPOINT,
      caFile: s.GREENLIGHT_ARM_CA_FILE,
      maxRetries: s.GREENLIGHT_ARM_MAX_RETRIES,
      retryDelayMs: s.GREENLIGHT_ARM_RETRY_DELAY_MS,
      pollIntervalMs: s.GREENLIGHT_ARM_POLL_INTERVAL_MS,
      credential:
        s.GREENLIGHT_CREDENTIAL === 'static'
          ? { kind: 'static', token: s.GREENLIGHT_STATIC_TOKEN ?? '' }
          : { kind: 'default', managedIdentityClientId: s.AZURE_CLIENT_ID },
    },
    revisionUrlScheme: s.GREENLIGHT_REVISION_URL_SCHEME,
    monitor: {
      metricsEndpoint: s.GREENLIGHT_MONITOR_METRICS_ENDPOINT,
      logsEndpoint: s.GREENLIGHT_MONITOR_LOGS_ENDPOINT,
      caFile: s.GREENLIGHT_MONITOR_CA_FILE,
    },
    changeControl: {
      ...(s.GREENLIGHT_CHANGE_CONTROL_PATH ? { path: s.GREENLIGHT_CHANGE_CONTROL_PATH } : {}),
      ...(s.GREENLIGHT_CHANGE_CONTROL ? { inline: s.GREENLIGHT_CHANGE_CONTROL } : {}),
    },
    audit: {
      maxEntriesPerApp: s.GREENLIGHT_AUDIT_MAX_ENTRIES_PER_APP,
      ...(s.GREENLIGHT_AUDIT_RETENTION_DAYS !== undefined
        ? { retentionMs: s.GREENLIGHT_AUDIT_RETENTION_DAYS * 86_400_000 }
        : {}),
    },
  };
}
