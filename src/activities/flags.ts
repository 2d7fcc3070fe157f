import { assessCompleteness, type CompletenessReport } from '../domain/flag/completeness';
import { appKey, flagsOf } from '../domain/flag/control';
import type { RolloutPorts } from '../domain/ports';
import type { FlagActivityInput } from '../domain/rollout/types';
import type { ActivityHandlers } from './contract';

// The flag strategy's side effects. Changes are compare-and-set on the epoch and recognise their own
// earlier attempt by `by` (the rollout id), so a retried activity changes nothing twice.

/** Agents heartbeat every second or so; older reports are from revisions that stopped. */
const reportMaxAgeMs = 10_000;

/** Newest mock records whose sequence ids one look reads: bounded, however long green has been writing. */
export const sequenceWindow = 10_000;

/** Production log whose checkpoint shows progress when the plan does not name one. */
const defaultProgressLog = 'sink';

type FlagActivities = Pick<
  ActivityHandlers,
  | 'snapshotFlags'
  | 'setRevisionFlags'
  | 'observeMock'
  | 'flipFlags'
  | 'observeFlip'
  | 'observeProgress'
  | 'restoreFlags'
  | 'dropMockOutputs'
>;

export function flagActivities(ports: RolloutPorts): FlagActivities {
  const portsOf = (input: FlagActivityInput) => ports.flags(input.strategy);
  return {
    snapshotFlags: (input) => portsOf(input).control.ensure(appKey(input.app), input.blue, input.rolloutId),

    setRevisionFlags: (input) =>
      portsOf(input).control.setRevision(
        appKey(input.app),
        input.revision,
        { mode: input.mode, binding: input.mode === 'mock' ? 'temp' : 'prod' },
        input.expectEpoch,
        input.rolloutId,
      ),

    observeMock: async (input) => {
      const { control, mock } = portsOf(input);
      const app = appKey(input.app);
      const [record, reports, written] = await Promise.all([
        control.read(app),
        control.reports(app, reportMaxAgeMs),
        mock.records(app, input.revision, 50),
      ]);
      const lag = input.strategy.mock.consumerGroup
        ? await mock.consumerLag(app, input.revision, input.strategy.mock.consumerGroup)
        : undefined;
      const malformed = written.sample
        .map((rec, index) => ({
          index,
          missing: input.strategy.mock.requiredFields.filter((f) => !(f in rec)),
        }))
        .filter((m) => m.missing.length > 0);
      const report = reports.find((r) => r.revision === input.revision);
      // Judged here, not in the orchestrator: the ids stay out of the orchestration's history, only the
      // verdict and a few examples go in. The source's range is not known here (a TCP source publishes
      // nothing), so the expected range is the ids' own: holes, doubles and reordering inside it show.
      const field = input.strategy.mock.sequenceField;
      let completeness: CompletenessReport | undefined;
      if (field) {
        const seq = await mock.sequence(app, input.revision, field, sequenceWindow);
        if (seq.ids.length > 0) {
          completeness = assessCompleteness(seq.ids, undefined, input.strategy.mock.maxGap ?? 0, seq);
        }
      }
      return {
        ...(report ? { report } : {}),
        flags: flagsOf(record, input.revision),
        records: written.count,
        sampled: written.sample.length,
        malformed,
        ...(lag ? { lag } : {}),
        ...(completeness ? { completeness } : {}),
      };
    },

    flipFlags: (input) =>
      portsOf(input).control.flip(appKey(input.app), input.to, input.expectEpoch, input.rolloutId),

    observeFlip: async (input) => {
      const { control } = portsOf(input);
      const app = appKey(input.app);
      const [record, lease, lastWrite, reports] = await Promise.all([
        control.read(app),
        control.leaseHolder(app),
        control.lastWrite(app),
        control.reports(app, reportMaxAgeMs),
      ]);
      return {
        epoch: record?.epoch ?? 0,
        active: record?.active ?? null,
        ...(lease ? { lease } : {}),
        ...(lastWrite ? { lastWrite } : {}),
        reports,
      };
    },

    observeProgress: async (input) => {
      const { control } = portsOf(input);
      const app = appKey(input.app);
      const log = input.strategy.progress?.log ?? defaultProgressLog;
      const [record, lease, lastWrite, checkpoint, source, reports] = await Promise.all([
        control.read(app),
        control.leaseHolder(app),
        control.lastWrite(app),
        control.checkpoint(app, log),
        control.sourcePosition(app),
        control.reports(app, reportMaxAgeMs),
      ]);
      return {
        observedAt: ports.now().getTime(),
        epoch: record?.epoch ?? 0,
        active: record?.active ?? null,
        ...(lease ? { lease } : {}),
        ...(lastWrite ? { lastWrite } : {}),
        ...(checkpoint !== undefined ? { checkpoint } : {}),
        ...(source !== undefined ? { source } : {}),
        reports,
      };
    },

    restoreFlags: async (input) => {
      const { control } = portsOf(input);
      const app = appKey(input.app);
      const current = await control.read(app);
      // Compensation restores whatever the rollout left, so it compares against the epoch it finds;
      // `by` still makes a retried restore a no-op.
      return control.restore(
        app,
        input.snapshot,
        current?.epoch ?? input.snapshot.epoch,
        `${input.rolloutId}:restore`,
      );
    },

    dropMockOutputs: async (input) => ({
      deleted: await portsOf(input).mock.drop(appKey(input.app), input.revision),
    }),
  };
}
