import type { HttpResponseInit } from '@azure/functions';

/** RFC 9457 problem details: what was wrong and how to fix it, machine- and person-readable. */
export interface Problem {
  status: number;
  title: string;
  detail: string;
  /** A short stable slug; becomes the `type` URI. */
  type: string;
  [extension: string]: unknown;
}

export function problem(p: Problem): HttpResponseInit {
  return {
    status: p.status,
    headers: { 'content-type': 'application/problem+json' },
    jsonBody: { ...p, type: `https://greenlight.dev/problems/${p.type}` },
  };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, headers: { 'content-type': 'application/json', ...headers }, jsonBody: body };
}

/** 404 for an id that names no rollout: the same answer from every route that takes one. */
export function unknownRollout(id: string): Problem {
  return {
    status: 404,
    type: 'unknown-rollout',
    title: 'Rollout not found',
    detail: `no rollout has id '${id}'; list rollouts with GET /api/rollouts?app=<name>`,
  };
}
