import { type QueryVars, renderQuery } from '../../domain/gates/query';
import type { GateQuery } from '../../domain/gates/types';

export type { QueryVars };

/** Turns a gate's query text into what the provider sends, placeholders filled in. */
export type RenderQuery = (query: GateQuery, vars: QueryVars) => string;

export const defaultRender: RenderQuery = renderQuery;

/** Another text of the gate (a filter, `ratioTo`, a sample-size query), rendered as its query is. */
export function renderField(render: RenderQuery, query: GateQuery, text: string, vars: QueryVars): string {
  return render({ ...query, query: text }, vars);
}
