import type { RolloutPhase } from '../domain/rollout/phase';

/** The phases `wait --for` accepts, with what each means (shown in `wait --help`). */
export const phaseMeanings = {
  Initializing: 'accepted; taking the snapshot rollback restores',
  Deploying: 'creating the green revision at 0% traffic',
  WaitingReady: 'waiting for green to be provisioned and healthy',
  Validating: 'smoke checks, mock validation and pre-promotion gates',
  WaitingApproval: 'waiting for a person to approve or reject',
  Baking: 'timed bake before promotion',
  Promoting: 'shifting traffic (or flipping flags) to green',
  Watching: 'green has all production work; blue stays warm',
  Finalising: 'waiting out the cleanup delay, then retiring blue',
  Succeeded: 'green is production (undoable until the undo window closes)',
  Undoing: 'restoring the snapshot after promotion, on an undo',
  Undone: 'undone after promotion: the snapshot is restored',
  RollingBack: 'restoring the snapshot',
  RolledBack: 'the snapshot is restored',
  RollbackFailed: 'rollback could not finish; a person must act',
} satisfies Partial<Record<RolloutPhase, string>>;

export const knownPhases = Object.keys(phaseMeanings);

/** `--for` value: `done` or a phase, matched without regard to case. */
export function parsePhaseTarget(value: string): string | undefined {
  if (value.toLowerCase() === 'done') return 'done';
  return knownPhases.find((p) => p.toLowerCase() === value.toLowerCase());
}
