import { z } from 'zod';
import { notificationKinds, type NotificationKind } from './events';

export const channelKinds = ['teams', 'slack', 'webhook'] as const;
export type ChannelKind = (typeof channelKinds)[number];

/**
 * Requests per second each kind tolerates by default: a Teams webhook throttles above 4 a second, Slack
 * posts about one message a second per channel (short bursts allowed); a generic receiver gets 10.
 */
export const defaultRatePerSecond: Record<ChannelKind, number> = { teams: 4, slack: 1, webhook: 10 };
const maxRatePerSecond: Record<ChannelKind, number> = { teams: 4, slack: 5, webhook: 100 };

const settingName = (what: string) =>
  z
    .string({ message: `${what} must name an app setting, e.g. GREENLIGHT_TEAMS_URL` })
    .superRefine((name, ctx) => {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(name)) {
        ctx.addIssue({
          code: 'custom',
          message: `${what} must name the app setting that holds the value, not the value itself (never put a webhook URL or secret in the policy); e.g. GREENLIGHT_TEAMS_URL`,
        });
      } else if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) {
        ctx.addIssue({
          code: 'custom',
          message: `${what} must be an app setting name (letters, digits and _, not starting with a digit); got '${name.slice(0, 40)}'`,
        });
      }
    });

const eventName = z.string().superRefine((name, ctx) => {
  if (name !== '*' && !(notificationKinds as readonly string[]).includes(name)) {
    ctx.addIssue({
      code: 'custom',
      message: `'${name}' is not an event; use '*' or any of ${notificationKinds.join(', ')}`,
    });
  }
});

/**
 * One notification channel of a policy. The webhook URL and the signing secret stay in app settings
 * (Key Vault references in Azure): the policy names the settings only, so neither reaches status,
 * logs or the audit trail.
 */
const channelSchema = z
  .strictObject({
    kind: z.enum(channelKinds, { message: `must be one of ${channelKinds.join(', ')}` }),
    /** Shown in status and logs instead of the URL; defaults to `${kind}:${urlSetting}`. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'must be 1-64 letters, digits or . _ : -')
      .optional(),
    urlSetting: settingName('urlSetting'),
    /** HMAC key of the `webhook` kind (Standard Webhooks: `whsec_` + base64); required there. */
    secretSetting: settingName('secretSetting').optional(),
    /** Events sent to this channel; `['*']` (the default) sends every event. */
    events: z.array(eventName).min(1, "list at least one event, or '*' for all").default(['*']),
    /** Requests per second at most, across every rollout that uses the channel. */
    ratePerSecond: z.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
  })
  .superRefine((c, ctx) => {
    if (c.kind === 'webhook' && c.secretSetting === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['secretSetting'],
        message:
          "is required for kind 'webhook': name the app setting holding the signing secret (whsec_ followed by base64, e.g. from `openssl rand -base64 32`)",
      });
    }
    if (c.kind !== 'webhook' && c.secretSetting !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['secretSetting'],
        message: `applies only to kind 'webhook' (a ${c.kind} webhook URL is its own secret); remove it`,
      });
    }
    if (c.ratePerSecond !== undefined && c.ratePerSecond > maxRatePerSecond[c.kind]) {
      ctx.addIssue({
        code: 'custom',
        path: ['ratePerSecond'],
        message: `must be at most ${maxRatePerSecond[c.kind]} for kind '${c.kind}'${c.kind === 'teams' ? ' (Teams throttles more than 4 requests a second)' : ''}`,
      });
    }
  })
  .transform((c) => ({
    ...c,
    name: c.name ?? `${c.kind}:${c.urlSetting}`,
    ratePerSecond: c.ratePerSecond ?? defaultRatePerSecond[c.kind],
  }));

/** The `notifications` list of a policy; channel names must be unique (they key rate limits and records). */
export const notificationsSchema = z
  .array(channelSchema)
  .default([])
  // Reads the raw list and runs even when a channel has other problems, so every problem is named at once.
  .superRefine(
    (channels, ctx) => {
      const seen = new Map<string, number>();
      (channels as unknown[]).forEach((raw, i) => {
        const c = (raw ?? {}) as Record<string, unknown>;
        const setting = typeof c.urlSetting === 'string' ? c.urlSetting : '';
        // A URL written where a setting name belongs is reported above; never repeat it here.
        if (typeof c.name !== 'string' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(setting)) return;
        const name = typeof c.name === 'string' ? c.name : `${String(c.kind)}:${setting}`;
        const first = seen.get(name);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [i, 'name'],
            message: `channel '${name}' is listed twice (also at notifications[${first}]); give one a different name or urlSetting`,
          });
        } else seen.set(name, i);
      });
    },
    { when: (payload) => Array.isArray(payload.value) },
  );

export type NotificationChannel = z.output<typeof channelSchema>;

/** Whether the channel asked for this kind of event. */
export function channelWants(channel: Pick<NotificationChannel, 'events'>, kind: NotificationKind): boolean {
  return channel.events.includes('*') || channel.events.includes(kind);
}
