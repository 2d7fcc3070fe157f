/**
 * Durable Task history events in the shapes `durable-functions` replays (the same JSON the Functions
 * host sends the Node.js worker). Only the fields the library reads matter for replay; the rest make
 * `showHistory` output look like the host's.
 */
export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionFailed: 2,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventSent: 14,
  EventRaised: 15,
  ContinueAsNew: 16,
  ExecutionSuspended: 19,
  ExecutionResumed: 20,
} as const;

const typeNames = Object.fromEntries(Object.entries(EventType).map(([k, v]) => [v, k])) as Record<
  number,
  string
>;

export interface HistoryEvent {
  EventType: number;
  EventId: number;
  IsPlayed: boolean;
  /** ISO 8601; the library turns it into a Date. */
  Timestamp: string;
  [field: string]: unknown;
}

export function historyEvent(type: number, at: number, fields: Record<string, unknown> = {}): HistoryEvent {
  return { EventType: type, EventId: -1, IsPlayed: false, Timestamp: new Date(at).toISOString(), ...fields };
}

/** The JSON text a completion carries; `undefined` becomes `null` so the library can parse it. */
export function resultText(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value);
}

/** History as the Durable HTTP API shows it (`showHistory=true`): event type names, parsed payloads. */
export function presentHistory(events: HistoryEvent[], withOutput: boolean): Record<string, unknown>[] {
  return events
    .filter(
      (e) => e.EventType !== EventType.OrchestratorStarted && e.EventType !== EventType.OrchestratorCompleted,
    )
    .map((e) => {
      const { EventType: type, IsPlayed: _played, Result, Input, ...rest } = e;
      const out: Record<string, unknown> = { EventType: typeNames[type] ?? String(type), ...rest };
      if (withOutput && typeof Result === 'string') out.Result = safeParse(Result);
      if (withOutput && typeof Input === 'string') out.Input = safeParse(Input);
      return out;
    });
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
