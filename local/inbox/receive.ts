import { Webhook } from 'standardwebhooks';

export type InboxKind = 'teams' | 'slack' | 'webhook';

export interface InboxLink {
  title: string;
  url: string;
}

/** One message as it arrived, with what a person would read of it. */
export interface InboxMessage {
  seq: number;
  kind: InboxKind;
  /** The channel name from the path (`/teams/ops` → `ops`), or the kind. */
  channel: string;
  receivedAt: string;
  /** Whether the message has the shape its channel requires (and, for webhooks, a valid signature). */
  accepted: boolean;
  /** Why it was refused, when it was. */
  problem?: string;
  /** For webhooks: the Standard Webhooks signature verified. */
  verified?: boolean;
  title: string;
  /** The event kind, when the message says (CloudEvents `type`). */
  event?: string;
  links: InboxLink[];
  bytes: number;
  headers: Record<string, string>;
  payload: unknown;
}

type Parsed = Pick<InboxMessage, 'accepted' | 'problem' | 'verified' | 'title' | 'event' | 'links'>;

const recordedHeaders = [
  'content-type',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'user-agent',
];

export function pickHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of recordedHeaders) {
    const v = headers[name];
    if (typeof v === 'string') out[name] = v;
  }
  return out;
}

/** Reads a message as its channel would: refuses what Teams, Slack or a signed-webhook receiver would refuse. */
export function readMessage(
  kind: InboxKind,
  body: string,
  headers: Record<string, string>,
  secret: string,
): Parsed {
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return refused('the body is not JSON');
  }
  switch (kind) {
    case 'teams':
      return readTeams(payload);
    case 'slack':
      return readSlack(payload);
    case 'webhook':
      return readWebhook(payload, body, headers, secret);
  }
}

function refused(problem: string, verified?: boolean): Parsed {
  return { accepted: false, problem, title: '', links: [], ...(verified !== undefined ? { verified } : {}) };
}

function readTeams(payload: unknown): Parsed {
  const p = payload as {
    type?: unknown;
    attachments?: { contentType?: unknown; content?: Record<string, unknown> }[];
  };
  if (p?.type !== 'message' || !Array.isArray(p.attachments) || p.attachments.length === 0) {
    return refused("a Teams Workflows message must be { type: 'message', attachments: [...] }");
  }
  const card = p.attachments[0]?.content;
  if (
    p.attachments[0]?.contentType !== 'application/vnd.microsoft.card.adaptive' ||
    card?.type !== 'AdaptiveCard'
  ) {
    return refused('the attachment must be an Adaptive Card (application/vnd.microsoft.card.adaptive)');
  }
  const actions = Array.isArray(card.actions) ? (card.actions as Record<string, unknown>[]) : [];
  const notOpenUrl = actions.find((a) => a.type !== 'Action.OpenUrl');
  if (notOpenUrl)
    return refused(`${String(notOpenUrl.type)} needs a bot; a webhook card may use Action.OpenUrl only`);
  return {
    accepted: true,
    title: firstText(card.body) ?? (typeof card.fallbackText === 'string' ? card.fallbackText : ''),
    links: actions.map((a) => ({ title: String(a.title), url: String(a.url) })),
  };
}

function firstText(items: unknown): string | undefined {
  if (!Array.isArray(items)) return undefined;
  for (const item of items as Record<string, unknown>[]) {
    if (item.type === 'TextBlock' && typeof item.text === 'string') return item.text;
    const inner = firstText(item.items);
    if (inner) return inner;
  }
  return undefined;
}

function readSlack(payload: unknown): Parsed {
  const p = payload as { text?: unknown; blocks?: Record<string, unknown>[] };
  if (typeof p?.text !== 'string' && !Array.isArray(p?.blocks)) {
    return refused('a Slack message needs text or blocks');
  }
  const blocks = Array.isArray(p.blocks) ? p.blocks : [];
  if (blocks.length > 50) return refused(`Slack takes at most 50 blocks; got ${blocks.length}`);
  const header = blocks.find((b) => b.type === 'header') as { text?: { text?: string } } | undefined;
  const links = blocks
    .filter((b) => b.type === 'actions')
    .flatMap((b) => (b.elements as { text?: { text?: string }; url?: string }[]) ?? [])
    .filter((e) => typeof e.url === 'string')
    .map((e) => ({ title: e.text?.text ?? '', url: e.url! }));
  return { accepted: true, title: header?.text?.text ?? (typeof p.text === 'string' ? p.text : ''), links };
}

function readWebhook(
  payload: unknown,
  body: string,
  headers: Record<string, string>,
  secret: string,
): Parsed {
  try {
    new Webhook(secret).verify(body, headers);
  } catch (e) {
    return refused(`signature not verified: ${e instanceof Error ? e.message : String(e)}`, false);
  }
  const ce = payload as { specversion?: unknown; type?: unknown; data?: Record<string, unknown> };
  if (ce?.specversion !== '1.0') return refused('not a CloudEvents 1.0 structured event', true);
  const links = (ce.data?.links ?? {}) as Record<string, unknown>;
  return {
    accepted: true,
    verified: true,
    title: String(ce.data?.title ?? ce.type),
    event: String(ce.type),
    links: Object.entries(links)
      .filter(([, url]) => typeof url === 'string')
      .map(([title, url]) => ({ title, url: url as string })),
  };
}
