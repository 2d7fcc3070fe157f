// `greenlight/agent`: what a workload embeds to take part in the flag strategy. Free of the Functions
// host, Durable Functions and the Azure SDKs: a workload needs only ioredis.
export {
  type AgentEvents,
  type AgentState,
  type AppendOptions,
  type AppendResult,
  type LogEntry,
  WorkloadAgent,
} from './agent';
export { type AgentLogger, type AgentOptions, resolveAgentOptions } from './options';
export { SequencedAppender, type SequencedAppenderOptions } from './sequencedAppender';
export { LogProcessor, type LogProcessorOptions } from './logProcessor';
export { isStaleEpoch, type StaleReason, StaleEpochError } from '../domain/flag/errors';
export {
  appKey,
  type RedisBinding,
  type RevisionFlags,
  type RevisionMode,
  type RevisionReport,
} from '../domain/flag/control';
export { mockSink, mockStream } from '../protocol/flagKeys';
