/**
 * What the CLI's exit status means, so CI can act on it. One table: `--help` and the README print it,
 * and `wait` maps a rollout's end through `exitCodeOfEnd`.
 */
export const ExitCode = {
  /** The phase was reached, or the rollout succeeded (or the command did what it was asked). */
  ok: 0,
  /** Bad input to the CLI, or the API refused the request or could not be reached. */
  error: 1,
  /** The rollout was rolled back (the pre-rollout snapshot is restored). */
  rolledBack: 2,
  /** Rollback could not finish: a person must act (see `leftToDo` in the status). */
  rollbackFailed: 3,
  /** `--timeout` passed first. */
  timedOut: 4,
  /** The orchestration crashed or was terminated: its state needs a look. */
  crashed: 5,
  /** The rollout finished without ever passing through the phase waited for. */
  phaseNotReached: 6,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export const exitCodeHelp = `Exit codes:
  0  reached the phase waited for, or the rollout succeeded
  1  bad input, or the API refused the request or could not be reached
  2  the rollout was rolled back (or undone)
  3  rollback failed: a person must finish it (see the status's left-to-do list)
  4  timed out (--timeout)
  5  the orchestration crashed or was terminated
  6  the rollout succeeded without passing through the phase waited for`;

/** The exit status of a finished rollout, by its final phase. */
export function exitCodeOfEnd(phase: string): ExitCodeValue {
  switch (phase) {
    case 'Succeeded':
      return ExitCode.ok;
    case 'RolledBack':
    case 'Undone': // undone after promotion: the previous version serves again, as after a rollback
      return ExitCode.rolledBack;
    case 'RollbackFailed':
      return ExitCode.rollbackFailed;
    default:
      return ExitCode.crashed;
  }
}
