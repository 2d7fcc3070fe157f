import { createHash } from 'node:crypto';
import type { HttpResponseInit } from '@azure/functions';

/**
 * What every HTML page Greenlight serves shares: escaping, one stylesheet, and the headers that keep a
 * page carrying an approval token safe. The stylesheet is inline and allowed by its hash, so the page
 * needs no second request, and no script of any kind may run (the CSP has no script-src: default 'none').
 */

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for an HTML element or a quoted attribute. */
export function esc(value: string | number | undefined): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => escapes[c] ?? c);
}

/** Colours meet WCAG AA contrast (4.5:1) on white: text #1f2328, muted #57606a, links #0a5cc2. */
export const stylesheet = [
  'body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#fff}',
  'header.top{background:#1f2328;color:#fff;padding:.6rem 1rem}header.top a{color:#fff}',
  'main{max-width:60rem;margin:1.5rem auto;padding:0 1rem}',
  'h1{font-size:1.6rem;margin:.2rem 0 1rem}h2{font-size:1.2rem;margin:1.8rem 0 .6rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}',
  'a{color:#0a5cc2}.muted{color:#57606a}',
  'table{border-collapse:collapse;width:100%;margin:.4rem 0}th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #d0d7de;vertical-align:top}',
  'th{font-weight:600}caption{text-align:left;font-weight:600;padding:.3rem 0}',
  '.change{display:flex;gap:1rem;align-items:stretch;flex-wrap:wrap}.change div{border:1px solid #d0d7de;border-radius:6px;padding:.6rem .8rem;flex:1;min-width:14rem}',
  '.change>div.arrow{align-self:center;font-size:1.6rem;border:0;flex:0 0 auto;min-width:0;padding:0}code{font-family:ui-monospace,Consolas,monospace;font-size:.9em;word-break:break-all}',
  '.v{display:inline-block;border-radius:1rem;padding:0 .6rem;font-weight:600;font-size:.9rem;border:1px solid}',
  '.v-pass,.v-ok{color:#116329;border-color:#116329;background:#dafbe1}.v-fail{color:#a40e26;border-color:#a40e26;background:#ffebe9}',
  '.v-inconclusive,.v-running,.v-pending,.v-waiting{color:#6a4a00;border-color:#6a4a00;background:#fff8c5}.v-other{color:#424a53;border-color:#57606a;background:#f6f8fa}',
  '.notice{border-left:4px solid #6a4a00;background:#fff8c5;padding:.6rem .9rem;margin:1rem 0}.notice.error{border-color:#a40e26;background:#ffebe9}.notice.ok{border-color:#116329;background:#dafbe1}',
  'form.decide{border:1px solid #d0d7de;border-radius:6px;padding:.8rem;margin:.8rem 0}',
  'label{display:block;font-weight:600;margin-bottom:.3rem}input[type=text]{font:inherit;padding:.4rem;width:100%;box-sizing:border-box;border:1px solid #57606a;border-radius:4px}',
  'button{font:inherit;font-weight:600;margin-top:.6rem;padding:.5rem 1.2rem;border:0;border-radius:4px;color:#fff;cursor:pointer}',
  'button.approve{background:#116329}button.reject{background:#a40e26}button:focus,a:focus,input:focus{outline:3px solid #0a5cc2;outline-offset:2px}',
  'svg{max-width:100%;height:auto}svg text{font:12px system-ui,sans-serif;fill:#1f2328}',
  'ol.timeline{padding-left:1.2rem}ol.timeline li{margin:.2rem 0}',
].join('');

const styleHash = `sha256-${createHash('sha256').update(stylesheet).digest('base64')}`;

/**
 * No script, no frames, no plugins; forms post only to this origin; nothing embeds the page; images only
 * inline SVG (drawn in the document). The token in the URL never leaves in a Referer.
 */
export const contentSecurityPolicy = [
  "default-src 'none'",
  `style-src '${styleHash}'`,
  "img-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function securityHeaders(): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': contentSecurityPolicy,
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'cache-control': 'no-store',
    'x-robots-tag': 'noindex',
  };
}

export interface LayoutOptions {
  /** Reloads the page after this many seconds (a `<meta http-equiv="refresh">`: no script needed). */
  refreshSeconds?: number;
  /** Who the platform says is signed in, shown in the header. */
  signedInAs?: string;
}

/** A whole document around `body`. */
export function layout(title: string, body: string, opts: LayoutOptions = {}): string {
  const refresh =
    opts.refreshSeconds !== undefined ? `<meta http-equiv="refresh" content="${opts.refreshSeconds}">` : '';
  const who = opts.signedInAs ? ` <span class="signed-in">· signed in as ${esc(opts.signedInAs)}</span>` : '';
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">${refresh}` +
    `<link rel="icon" href="data:,"><title>${esc(title)}</title><style>${stylesheet}</style></head>` +
    `<body><header class="top"><strong>Greenlight</strong>${who}</header><main>${body}</main></body></html>`
  );
}

export function htmlPage(
  status: number,
  title: string,
  body: string,
  opts: LayoutOptions = {},
): HttpResponseInit {
  return { status, headers: securityHeaders(), body: layout(title, body, opts) };
}

/** The page a browser gets for an error: the problem's title and detail, with the same headers. */
export function errorPage(status: number, title: string, detail: string, extraHtml = ''): HttpResponseInit {
  return htmlPage(
    status,
    title,
    `<h1>${esc(title)}</h1><div class="notice error" role="alert"><p>${esc(detail)}</p>${extraHtml}</div>`,
  );
}

/** A verdict or state as a badge whose colour is never the only cue (the word is always there). */
export function badge(verdict: string | undefined): string {
  const v = verdict ?? 'unknown';
  const tone: Record<string, string> = {
    pass: 'pass',
    success: 'pass',
    approved: 'pass',
    Succeeded: 'pass',
    fail: 'fail',
    failure: 'fail',
    error: 'fail',
    rejected: 'fail',
    RolledBack: 'fail',
    RollbackFailed: 'fail',
    Crashed: 'fail',
    inconclusive: 'inconclusive',
    running: 'running',
    pending: 'pending',
    timedOut: 'inconclusive',
  };
  return `<span class="v v-${tone[v] ?? 'other'}">${esc(v)}</span>`;
}

/** True when the caller is a browser that would rather read a page than JSON. */
export function wantsHtml(accept: string | null): boolean {
  return (accept ?? '').includes('text/html');
}

export function isoOrDash(value: string | number | undefined): string {
  if (value === undefined) return '—';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toISOString().replace('.000Z', 'Z');
}
