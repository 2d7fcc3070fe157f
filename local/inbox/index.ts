/**
 * The local inbox: one HTTP receiver for every notification channel kind, so a newcomer sees what Teams,
 * Slack or a webhook consumer would get. It checks each message as its channel would (Adaptive Card
 * attachment, Block Kit, a Standard Webhooks signature over a CloudEvent), keeps what arrives in memory,
 * prints one line per message and serves them at GET /inbox.
 *
 *   POST /teams[/name]   POST /slack[/name]   POST /webhook[/name]
 *   GET  /inbox[?kind=teams&since=SEQ]        DELETE /inbox
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pickHeaders, readMessage, type InboxKind, type InboxMessage } from './receive';

export type { InboxKind, InboxLink, InboxMessage } from './receive';

export interface InboxOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Loopback only, as every local server here. */
  host?: string;
  /** Standard Webhooks secret (`whsec_` + base64) the webhook kind is verified with; one is made when absent. */
  webhookSecret?: string;
  /** One line per message; default: stdout. Pass `() => {}` for silence. */
  log?: (line: string) => void;
  /** Messages kept (oldest dropped first). */
  keep?: number;
}

/** A scripted answer, for showing retries: the next requests to a kind get these before the usual 200/202. */
export interface ScriptedAnswer {
  status: number;
  retryAfter?: string;
  body?: string;
}

export interface Inbox {
  url: string;
  /** Where each channel kind posts; `${urls.teams}/name` names a channel. */
  urls: Record<InboxKind, string>;
  webhookSecret: string;
  /**
   * App settings that point a policy's channels here: the names the example policies (and the README) use,
   * so they deliver to this inbox as shipped. In Azure the same names hold the real webhook URLs.
   */
  settings(): Record<string, string>;
  messages(filter?: { kind?: InboxKind; since?: number }): InboxMessage[];
  /** Resolves with the first message matching, waiting up to `timeoutMs`. */
  waitFor(match: (m: InboxMessage) => boolean, timeoutMs?: number): Promise<InboxMessage>;
  script(kind: InboxKind, answers: ScriptedAnswer[]): void;
  /** How many POSTs each kind received, accepted or not (scripted answers included). */
  requests(kind: InboxKind): number;
  clear(): void;
  close(): Promise<void>;
}

const maxBodyBytes = 1024 * 1024;
const kinds: InboxKind[] = ['teams', 'slack', 'webhook'];

export async function startInbox(opts: InboxOptions = {}): Promise<Inbox> {
  const host = opts.host ?? '127.0.0.1';
  const keep = opts.keep ?? 500;
  const secret = opts.webhookSecret ?? `whsec_${randomBytes(32).toString('base64')}`;
  const log = opts.log ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const stored: InboxMessage[] = [];
  const scripted: Record<InboxKind, ScriptedAnswer[]> = { teams: [], slack: [], webhook: [] };
  const counts: Record<InboxKind, number> = { teams: 0, slack: 0, webhook: 0 };
  const waiters = new Set<{ match: (m: InboxMessage) => boolean; resolve: (m: InboxMessage) => void }>();
  let seq = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://inbox');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] === 'inbox' && parts.length === 1) {
      if (req.method === 'GET') {
        const kind = kinds.find((k) => k === url.searchParams.get('kind'));
        const since = Number(url.searchParams.get('since') ?? 0) || 0;
        const messages = list({ ...(kind ? { kind } : {}), since });
        // A browser gets a page (newest first, reloading itself); programs get JSON.
        if (/\btext\/html\b/.test(req.headers.accept ?? '')) {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
          res.end(inboxPage(messages));
          return;
        }
        return json(res, 200, { messages });
      }
      if (req.method === 'DELETE') {
        stored.length = 0;
        return json(res, 200, { cleared: true });
      }
      return json(res, 405, { error: 'GET or DELETE /inbox' });
    }
    const kind = kinds.find((k) => k === parts[0]);
    if (!kind || parts.length > 2) {
      return json(res, 404, {
        error: 'POST to /teams, /slack or /webhook (optionally /<channel>); GET /inbox',
      });
    }
    if (req.method !== 'POST') return json(res, 405, { error: `POST /${kind}` });
    const body = await readBody(req);
    if (body === undefined) return json(res, 413, { error: `bodies over ${maxBodyBytes} bytes are refused` });
    counts[kind]++;
    const answer = scripted[kind].shift();
    if (answer) {
      log(
        `[inbox] ${kind.padEnd(7)} answered ${answer.status} as scripted${answer.retryAfter ? ` (Retry-After ${answer.retryAfter})` : ''}`,
      );
      if (answer.retryAfter) res.setHeader('retry-after', answer.retryAfter);
      return json(res, answer.status, { error: answer.body ?? 'scripted answer' });
    }
    const headers = pickHeaders(req.headers);
    const parsed = readMessage(kind, body, headers, secret);
    let payload: unknown = body;
    try {
      payload = JSON.parse(body);
    } catch {
      // kept as text
    }
    const message: InboxMessage = {
      seq: ++seq,
      kind,
      channel: parts[1] ?? kind,
      receivedAt: new Date().toISOString(),
      ...parsed,
      bytes: Buffer.byteLength(body),
      headers,
      payload,
    };
    stored.push(message);
    if (stored.length > keep) stored.splice(0, stored.length - keep);
    log(summaryLine(message));
    for (const w of [...waiters]) {
      if (w.match(message)) {
        waiters.delete(w);
        w.resolve(message);
      }
    }
    if (!message.accepted)
      return json(res, message.verified === false ? 401 : 400, { error: message.problem });
    // Teams Workflows answers 202 Accepted, Slack 200 "ok", a CloudEvents consumer 2xx.
    if (kind === 'slack') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    return json(res, kind === 'teams' ? 202 : 200, { received: message.seq });
  };

  const list = (filter: { kind?: InboxKind; since?: number } = {}) =>
    stored.filter((m) => (!filter.kind || m.kind === filter.kind) && m.seq > (filter.since ?? 0));

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) json(res, 500, { error: e instanceof Error ? e.message : String(e) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://${host}:${port}`;
  const urls = { teams: `${base}/teams`, slack: `${base}/slack`, webhook: `${base}/webhook` };

  return {
    url: base,
    urls,
    webhookSecret: secret,
    settings: () => ({
      ...inboxSettings(urls, secret),
    }),
    messages: list,
    waitFor: (match, timeoutMs = 30_000) => {
      const found = stored.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (m: InboxMessage) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching message reached the inbox within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    script: (kind, answers) => void scripted[kind].push(...answers),
    requests: (kind) => counts[kind],
    clear: () => {
      stored.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The app settings a policy's channels name, with the values that point them at this inbox. */
export const inboxSettingNames = {
  teams: 'GREENLIGHT_TEAMS_URL',
  slack: 'GREENLIGHT_SLACK_URL',
  webhook: 'GREENLIGHT_WEBHOOK_URL',
  webhookSecret: 'GREENLIGHT_WEBHOOK_SECRET',
} as const;

function inboxSettings(urls: Record<InboxKind, string>, secret: string): Record<string, string> {
  return {
    [inboxSettingNames.teams]: urls.teams,
    [inboxSettingNames.slack]: urls.slack,
    [inboxSettingNames.webhook]: urls.webhook,
    [inboxSettingNames.webhookSecret]: secret,
  };
}

/** One line per message: channel, title, verdict, size and buttons; the approval page in full, to open it. */
function summaryLine(m: InboxMessage): string {
  const state = m.accepted ? (m.verified ? 'signed ok' : 'ok') : `REFUSED: ${m.problem}`;
  const links = m.links.length > 0 ? `; buttons: ${m.links.map((l) => l.title).join(', ')}` : '';
  const decide = m.links.find((l) => l.title === approvalButton);
  const where = m.channel === m.kind ? m.kind : `${m.kind}/${m.channel}`;
  return `[inbox] ${where.padEnd(7)} #${m.seq} ${m.title || '(no title)'} [${state}, ${m.bytes} B${links}]${decide ? ` ${decide.url}` : ''}`;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The messages as a page: what each channel would show, newest first, with its buttons as links. */
function inboxPage(messages: readonly InboxMessage[]): string {
  const rows = [...messages]
    .reverse()
    .map((m) => {
      const links = m.links
        .filter((l) => /^https?:\/\//.test(l.url))
        .map((l) => `<a href="${escapeHtml(l.url)}">${escapeHtml(l.title)}</a>`)
        .join(' ');
      const state = m.accepted ? (m.verified ? 'signed ok' : 'ok') : `refused: ${m.problem ?? ''}`;
      return `<tr><td>${m.seq}</td><td>${escapeHtml(m.receivedAt.slice(11, 23))}</td><td>${escapeHtml(m.kind)}/${escapeHtml(m.channel)}</td><td>${escapeHtml(m.title || '(no title)')}</td><td>${escapeHtml(state)}</td><td>${links}</td></tr>`;
    })
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="3"><title>Greenlight local inbox</title></head><body><h1>Local inbox</h1><p>${messages.length} message(s); JSON: <code>curl /inbox</code>.</p><table><thead><tr><th>#</th><th>received</th><th>channel</th><th>title</th><th>check</th><th>buttons</th></tr></thead><tbody>${rows}</tbody></table></body></html>`;
}

/** The title of the button that opens the approval page (see src/domain/notify/view.ts). */
export const approvalButton = 'Review and decide';

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
