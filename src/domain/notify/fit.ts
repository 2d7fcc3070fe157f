import { clip } from '../text';
import type { NotificationView } from './view';

export { clip };

export function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** Per-element limits of a channel, in characters; a longer text is clipped before rendering. */
export interface ElementCaps {
  title?: number;
  summary?: number;
  factName?: number;
  factValue?: number;
  todoItem?: number;
}

/** The view with every text within its cap; the same object when nothing needed cutting. */
function capView(view: NotificationView, caps: ElementCaps): NotificationView {
  const cap = (text: string, max: number | undefined) => (max === undefined ? text : clip(text, max));
  const next: NotificationView = {
    ...view,
    title: cap(view.title, caps.title),
    summary: cap(view.summary, caps.summary),
    facts: view.facts.map((f) => ({ name: cap(f.name, caps.factName), value: cap(f.value, caps.factValue) })),
    todo: view.todo.map((t) => cap(t, caps.todoItem)),
  };
  const same =
    next.title === view.title &&
    next.summary === view.summary &&
    next.facts.every((f, i) => f.name === view.facts[i]!.name && f.value === view.facts[i]!.value) &&
    next.todo.every((t, i) => t === view.todo[i]);
  return same ? view : next;
}

export interface Fitted<P> {
  payload: P;
  /** The JSON body as sent. */
  body: string;
  /** Whether anything was cut to fit. */
  truncated: boolean;
}

/**
 * Renders the view and, while its JSON exceeds `maxBytes`, gives up detail in the order a reader misses
 * least: long texts first, then facts from the end (Policy, Rollout and At come last, and the dashboard has
 * them), then list items, then the summary. The title and the links stay, as they are what a person acts on.
 */
export function fitToLimit<P>(
  view: NotificationView,
  render: (view: NotificationView) => P,
  maxBytes: number,
  caps: ElementCaps = {},
): Fitted<P> {
  const capped = capView(view, caps);
  if (capped !== view) return { ...fitToLimit(capped, render, maxBytes), truncated: true };
  const attempt = (v: NotificationView) => {
    const payload = render(v);
    const body = JSON.stringify(payload);
    return { payload, body, fits: byteLength(body) <= maxBytes };
  };
  const first = attempt(view);
  if (first.fits) return { payload: first.payload, body: first.body, truncated: false };

  let v: NotificationView = {
    ...view,
    summary: clip(view.summary, 1000),
    facts: view.facts.map((f) => ({ ...f, value: clip(f.value, 300) })),
    todo: view.todo.map((t) => clip(t, 300)),
  };
  let r = attempt(v);
  const originalFacts = v.facts.length;
  while (!r.fits && v.facts.length > 1) {
    const kept = v.facts.filter((f) => f.name !== 'More').slice(0, -1);
    const dropped = originalFacts - kept.length;
    v = { ...v, facts: [...kept, { name: 'More', value: `${dropped} more fact(s) on the dashboard` }] };
    r = attempt(v);
  }
  const originalTodo = view.todo.length;
  while (!r.fits && v.todo.length > 1) {
    const kept = v.todo.slice(0, -2);
    v = { ...v, todo: [...kept, `… and ${originalTodo - kept.length} more step(s): see the dashboard`] };
    r = attempt(v);
  }
  if (!r.fits) {
    v = {
      ...v,
      summary: clip(v.summary, 200),
      title: clip(v.title, 100),
      facts: [],
      todo: v.todo.slice(0, 1),
    };
    r = attempt(v);
  }
  if (!r.fits) {
    v = { ...v, todo: [], actions: v.actions.filter((a) => a.url.length <= 500) };
    r = attempt(v);
  }
  if (!r.fits)
    throw new Error(`the notification does not fit in ${maxBytes} bytes even with its detail removed`);
  return { payload: r.payload, body: r.body, truncated: true };
}
