/** Where a rollout is. A closed set: every value has one meaning and the status API documents it. */
export type RolloutPhase =
  /** Accepted; taking the snapshot that rollback restores. */
  | 'Initializing'
  /** Creating the green revision at 0% traffic. */
  | 'Deploying'
  /** Waiting for green to be provisioned, running and healthy. */
  | 'WaitingReady'
  /** Smoke checks and pre-promotion gates against green's own URL. */
  | 'Validating'
  /** Waiting for a person to approve or reject through the signed link. */
  | 'WaitingApproval'
  /** Timed bake before promotion. */
  | 'Baking'
  /** Shifting traffic (or flipping flags) to green, step by step. */
  | 'Promoting'
  /** Green has all production work; health and gates are watched, blue stays warm. */
  | 'Watching'
  /** Waiting out the cleanup delay, then retiring blue (rollouts from before the undo window). */
  | 'Finalising'
  /**
   * Green is production. Until the undo window closes (`undo.until`), blue stays restorable and an undo
   * puts the snapshot back; then blue is retired.
   */
  | 'Succeeded'
  /** Restoring the snapshot after promotion, on an undo (`undo.by` says whose). */
  | 'Undoing'
  /** Undone after promotion: the snapshot is restored, green is off; `undo` says who, why and when. */
  | 'Undone'
  /** Running compensation to restore the snapshot. */
  | 'RollingBack'
  /** The snapshot is restored; the reason says why. */
  | 'RolledBack'
  /** Compensation could not finish; `leftToDo` says what an operator must do by hand. */
  | 'RollbackFailed';

export const terminalPhases: readonly RolloutPhase[] = [
  'Succeeded',
  'RolledBack',
  'RollbackFailed',
  'Undone',
];

export function isTerminal(phase: RolloutPhase): boolean {
  return terminalPhases.includes(phase);
}
