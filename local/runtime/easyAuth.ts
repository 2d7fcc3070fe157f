import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * App Service authentication ("Easy Auth"), as the local host plays it. In Azure the platform signs a
 * person in (`/.auth/login/aad`), keeps the session in a cookie, strips any `x-ms-client-principal*`
 * header a client sent and injects its own on every request carrying the session. Here a person signs
 * in by name (`/.auth/login/local?user=...`, or the form it shows): no password, because the runtime
 * only listens on 127.0.0.1 and plays the identity provider for the one person at this machine. On when
 * the app settings say App Service authentication is (`WEBSITE_AUTH_ENABLED=True`, as App Service sets
 * it); off, requests pass untouched, as on a Functions host without authentication.
 */
export interface EasyAuthOptions {
  /** Read per request: the app settings are known only once the app loads. */
  enabled: () => boolean;
  /** Signs the session cookie; a new one per runtime process (a restart signs everyone out). */
  secret?: Buffer;
}

export const sessionCookie = 'AppServiceAuthSession';
const principalHeaders = [
  'x-ms-client-principal',
  'x-ms-client-principal-name',
  'x-ms-client-principal-id',
  'x-ms-client-principal-idp',
];
/** A user name as an identity provider would give it: an e-mail address or a plain account name. */
const userPattern = /^[A-Za-z0-9._%+-]{1,64}(@[A-Za-z0-9.-]{1,190})?$/;
const sessionMaxAgeSeconds = 8 * 3600;

function sign(secret: Buffer, user: string, expires: number): string {
  const payload = Buffer.from(JSON.stringify({ user, expires })).toString('base64url');
  const mac = createHmac('sha256', secret).update(payload).digest('base64url');
  return `${payload}.${mac}`;
}

function verify(secret: Buffer, value: string, now: number): string | undefined {
  const [payload, mac] = value.split('.');
  if (!payload || !mac) return undefined;
  const expected = createHmac('sha256', secret).update(payload).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      user?: unknown;
      expires?: unknown;
    };
    if (typeof claims.user !== 'string' || typeof claims.expires !== 'number') return undefined;
    return claims.expires > now ? claims.user : undefined;
  } catch {
    return undefined;
  }
}

function cookieOf(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The `x-ms-client-principal` App Service sends: base64 JSON with the identity provider's claims. */
export function clientPrincipal(user: string): string {
  return Buffer.from(
    JSON.stringify({
      auth_typ: 'local',
      claims: [
        { typ: 'name', val: user },
        { typ: 'preferred_username', val: user },
        { typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress', val: user },
      ],
      name_typ: 'name',
      role_typ: 'roles',
    }),
  ).toString('base64');
}

/** Only a path on this host: never an open redirect to somewhere else. */
function localPath(value: unknown, fallback: string): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.includes('\\')) {
    return fallback;
  }
  return value;
}

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => escapes[c] ?? c);

const stylesheet =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1f2328}' +
  'label{display:block;margin:1rem 0 .25rem;font-weight:600}input{font:inherit;padding:.4rem;width:100%;box-sizing:border-box;border:1px solid #57606a;border-radius:4px}' +
  'button{font:inherit;margin-top:1rem;padding:.5rem 1.2rem;background:#0a5cc2;color:#fff;border:0;border-radius:4px}' +
  '.error{color:#a40e26;font-weight:600}p.note{color:#424a53}';
const styleHash = `sha256-${createHash('sha256').update(stylesheet).digest('base64')}`;

function page(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header(
      'content-security-policy',
      `default-src 'none'; style-src '${styleHash}'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    )
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,"><title>${esc(title)}</title><style>${stylesheet}</style></head><body><main>${body}</main></body></html>`,
    );
}

function signInForm(redirect: string, error?: string): string {
  return (
    `<h1>Sign in (local)</h1>` +
    `<p class="note">This local host plays App Service authentication: the name you give is who you are to Greenlight, as your Microsoft Entra account would be in Azure.</p>` +
    (error ? `<p class="error" role="alert">${esc(error)}</p>` : '') +
    `<form method="get" action="/.auth/login/local">` +
    `<label for="user">Your account (e-mail address)</label>` +
    `<input id="user" name="user" type="text" autocomplete="username" required maxlength="255" placeholder="alice@contoso.com">` +
    `<input type="hidden" name="post_login_redirect_uri" value="${esc(redirect)}">` +
    `<button type="submit">Sign in</button></form>`
  );
}

/**
 * Serves `/.auth/login/local` (and `/.auth/login/aad`, so a page's Azure sign-in link works here too),
 * `/.auth/logout` and `/.auth/me`, and rewrites the principal headers of every request.
 */
export function registerEasyAuth(app: FastifyInstance, opts: EasyAuthOptions): void {
  const secret = opts.secret ?? randomBytes(32);

  app.addHook('onRequest', async (req) => {
    if (!opts.enabled()) return;
    // As App Service: a client never speaks for the platform; only a valid session names a principal.
    for (const h of principalHeaders) delete req.headers[h];
    const session = cookieOf(req, sessionCookie);
    const user = session ? verify(secret, session, Date.now()) : undefined;
    if (!user) return;
    req.headers['x-ms-client-principal-name'] = user;
    req.headers['x-ms-client-principal-id'] = createHash('sha256').update(user).digest('hex').slice(0, 32);
    req.headers['x-ms-client-principal-idp'] = 'local';
    req.headers['x-ms-client-principal'] = clientPrincipal(user);
  });

  const disabled = (reply: FastifyReply): FastifyReply =>
    page(
      reply,
      404,
      'Authentication is off',
      `<h1>Authentication is off</h1><p>This host does not emulate App Service authentication: its app settings do not have WEBSITE_AUTH_ENABLED=True (npm start sets it).</p>`,
    );

  const login = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    if (!opts.enabled()) return disabled(reply);
    const q = req.query as Record<string, unknown>;
    const redirect = localPath(q.post_login_redirect_uri, '/api/dashboard');
    const user = typeof q.user === 'string' ? q.user.trim() : undefined;
    if (user === undefined || user === '') return page(reply, 200, 'Sign in', signInForm(redirect));
    if (!userPattern.test(user)) {
      return page(
        reply,
        400,
        'Sign in',
        signInForm(
          redirect,
          `'${user.slice(0, 100)}' is not an account name; give an e-mail address such as alice@contoso.com`,
        ),
      );
    }
    const expires = Date.now() + sessionMaxAgeSeconds * 1000;
    return reply
      .header(
        'set-cookie',
        `${sessionCookie}=${sign(secret, user, expires)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${sessionMaxAgeSeconds}`,
      )
      .header('cache-control', 'no-store')
      .redirect(redirect, 302);
  };
  app.get('/.auth/login/local', login);
  app.get('/.auth/login/aad', login);

  app.get('/.auth/logout', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    return reply
      .header('set-cookie', `${sessionCookie}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`)
      .header('cache-control', 'no-store')
      .redirect(localPath(q.post_logout_redirect_uri, '/.auth/login/local'), 302);
  });

  // As App Service: the signed-in principal as JSON, or an empty list.
  app.get('/.auth/me', async (req, reply) => {
    if (!opts.enabled()) return disabled(reply);
    const user = req.headers['x-ms-client-principal-name'];
    const body =
      typeof user === 'string'
        ? [{ provider_name: 'local', user_id: user, user_claims: [{ typ: 'name', val: user }] }]
        : [];
    return reply.header('cache-control', 'no-store').send(body);
  });
}
