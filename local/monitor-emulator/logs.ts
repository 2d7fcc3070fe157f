import { isoDurationMs } from './duration';
import { type Cell, KqlError, type KqlTable, type KqlType, parseKql } from './kql';
import type { MonitorSource } from './source';

/**
 * The Log Analytics query API (`POST /v1/workspaces/{id}/query`) over two tables built from the emulator's
 * answered requests: `AppRequests` (TimeGenerated, AppRoleName (the app), RevisionName, ResultCode (a number:
 * write `toint(ResultCode)` to run the same query on Application Insights, where it is a string), Success,
 * DurationMs, _ResourceId) and `ContainerAppConsoleLogs_CL`, one line per request as the sample workload
 * logs it (`ERROR ...` for a 5xx answer, `INFO ...` otherwise).
 */

export class LogsHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(JSON.stringify(body));
  }
}

export const requestsTable = 'AppRequests';
export const consoleLogsTable = 'ContainerAppConsoleLogs_CL';

const requestColumns: { name: string; type: KqlType }[] = [
  { name: 'TimeGenerated', type: 'datetime' },
  { name: 'AppRoleName', type: 'string' },
  { name: 'RevisionName', type: 'string' },
  { name: 'ResultCode', type: 'long' },
  { name: 'Success', type: 'bool' },
  { name: 'DurationMs', type: 'real' },
  { name: '_ResourceId', type: 'string' },
];

/** `PT15M`, `start/end`, `start/PT15M` or `PT15M/end`, as the SDK sends it, to a time range. */
export function parseTimespan(text: string, now: number): { from: number; to: number } {
  const bad = (): LogsHttpError =>
    badArgument(
      `timespan '${text}' is not an ISO 8601 duration or interval (e.g. PT15M or start/end)`,
      'InvalidTimespan',
    );
  const parts = text.split('/');
  if (parts.length === 1) {
    const ms = isoDurationMs(text);
    if (ms === undefined) throw bad();
    return { from: now - ms, to: now };
  }
  if (parts.length !== 2) throw bad();
  const [a, b] = parts as [string, string];
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  const da = isoDurationMs(a);
  const db = isoDurationMs(b);
  if (Number.isFinite(ta) && Number.isFinite(tb)) return { from: ta, to: tb };
  if (Number.isFinite(ta) && db !== undefined) return { from: ta, to: ta + db };
  if (da !== undefined && Number.isFinite(tb)) return { from: tb - da, to: tb };
  throw bad();
}

function badArgument(message: string, innerCode: string): LogsHttpError {
  return new LogsHttpError(400, {
    error: {
      message,
      code: 'BadArgumentError',
      innererror: { code: innerCode, message },
    },
  });
}

function requestRows(source: MonitorSource, from: number, to: number): KqlTable {
  const rows: Cell[][] = [];
  for (const app of source.apps()) {
    for (const rev of app.revisions) {
      for (const r of rev.requests.between(from, to)) {
        rows.push([r.at, app.name, rev.name, r.status, r.status < 400, r.latencyMs, app.id.toLowerCase()]);
      }
    }
  }
  rows.sort((x, y) => (x[0] as number) - (y[0] as number));
  return { columns: requestColumns, rows };
}

const consoleColumns: { name: string; type: KqlType }[] = [
  { name: 'TimeGenerated', type: 'datetime' },
  { name: 'ContainerAppName_s', type: 'string' },
  { name: 'RevisionName_s', type: 'string' },
  { name: 'ContainerName_s', type: 'string' },
  { name: 'Stream_s', type: 'string' },
  { name: 'Log_s', type: 'string' },
];

function consoleRows(source: MonitorSource, from: number, to: number): KqlTable {
  const rows: Cell[][] = [];
  for (const app of source.apps()) {
    for (const rev of app.revisions) {
      for (const r of rev.requests.between(from, to)) {
        const failed = r.status >= 500;
        const line = `${failed ? 'ERROR' : 'INFO'} request answered ${r.status} in ${Math.round(r.latencyMs)} ms`;
        rows.push([r.at, app.name, rev.name, app.name, failed ? 'stderr' : 'stdout', line]);
      }
    }
  }
  rows.sort((x, y) => (x[0] as number) - (y[0] as number));
  return { columns: consoleColumns, rows };
}

const tables: Record<string, (source: MonitorSource, from: number, to: number) => KqlTable> = {
  [requestsTable]: requestRows,
  [consoleLogsTable]: consoleRows,
};

function jsonCell(v: Cell, type: KqlType): unknown {
  if (v === null) return null;
  if (type === 'datetime') return new Date(v as number).toISOString();
  if (type === 'timespan') {
    const ms = v as number;
    const sign = ms < 0 ? '-' : '';
    const abs = Math.abs(ms);
    const days = Math.floor(abs / 86_400_000);
    const clock = new Date(abs % 86_400_000).toISOString().slice(11, 23);
    return `${sign}${days > 0 ? `${days}.` : ''}${clock}`;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) {
    return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  }
  return v;
}

export interface LogsQueryRequest {
  workspaceId: string;
  body: unknown;
  now: number;
}

/** Answers one workspace query, or throws LogsHttpError shaped as Log Analytics errors are. */
export function logsQuery(
  source: MonitorSource,
  workspaceIds: string[],
  req: LogsQueryRequest,
): Record<string, unknown> {
  if (!workspaceIds.some((w) => w.toLowerCase() === req.workspaceId.toLowerCase())) {
    throw new LogsHttpError(404, {
      error: {
        message: 'The workspace could not be found',
        code: 'WorkspaceNotFoundError',
        innererror: {
          code: 'WorkspaceNotFoundError',
          message: `Workspace '${req.workspaceId}' does not exist; the emulator's workspace is '${workspaceIds.join("', '")}'`,
        },
      },
    });
  }
  const body = (req.body ?? {}) as { query?: unknown; timespan?: unknown; workspaces?: unknown };
  if (typeof body.query !== 'string' || body.query.trim() === '') {
    throw badArgument(
      'The request body must carry the query: {"query": "AppRequests | ..."}',
      'MissingQuery',
    );
  }
  if (Array.isArray(body.workspaces) && body.workspaces.length > 0) {
    throw badArgument(
      'Cross-workspace queries (workspaces) are not supported by the emulator',
      'UnsupportedFeature',
    );
  }
  const range =
    typeof body.timespan === 'string' && body.timespan !== ''
      ? parseTimespan(body.timespan, req.now)
      : { from: Number.NEGATIVE_INFINITY, to: Number.POSITIVE_INFINITY };
  let result: KqlTable;
  try {
    const query = parseKql(body.query);
    const table = Object.hasOwn(tables, query.table) ? tables[query.table] : undefined;
    if (!table) {
      throw new KqlError(
        'SemanticError',
        `Failed to resolve table or column expression named '${query.table}' (the emulator's workspace has: ${Object.keys(tables).join(', ')})`,
      );
    }
    result = query.run(table(source, range.from, range.to), req.now);
  } catch (e) {
    if (!(e instanceof KqlError)) throw e;
    // Log Analytics puts the useful text in the inner error; the outer message names the problem too here.
    throw new LogsHttpError(400, {
      error: {
        message: `The query is not valid: ${e.message}`,
        code: 'BadArgumentError',
        innererror: { code: e.code, message: e.message },
      },
    });
  }
  return {
    tables: [
      {
        name: 'PrimaryResult',
        columns: result.columns.map((c) => ({ name: c.name, type: c.type })),
        rows: result.rows.map((row) => row.map((v, i) => jsonCell(v, result.columns[i]!.type))),
      },
    ],
  };
}
