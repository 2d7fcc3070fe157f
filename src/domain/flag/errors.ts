import { errorCode, GreenlightError } from '../errors';
import type { ControlRecord } from './control';

/**
 * A control-plane change expected another epoch: someone else changed the record first. Carries
 * `[ControlPlaneConflict]` in its message, so `isEpochConflict` still recognises it after it has crossed
 * the durable boundary as a plain Error.
 */
export class EpochConflictError extends GreenlightError {
  constructor(
    readonly app: string,
    readonly expectedEpoch: number,
    readonly current: ControlRecord,
  ) {
    super(
      'ControlPlaneConflict',
      `control record of '${app}' is at epoch ${current.epoch} (active ${current.active ?? 'none'}, last changed by '${current.updatedBy}' at ${current.updatedAt}), not the expected epoch ${expectedEpoch}: read the record again and decide from its epoch`,
      {
        app,
        expectedEpoch,
        epoch: current.epoch,
        active: current.active,
        updatedBy: current.updatedBy,
      },
    );
  }
}

export function isEpochConflict(e: unknown): boolean {
  return errorCode(e) === 'ControlPlaneConflict';
}

/** Why the production fence (or the mock-path lease) refused a write. */
export type StaleReason = 'epoch' | 'lease' | 'not-processing';

/**
 * A workload write refused because its stamp is out of date: the control record moved to another
 * epoch or active revision, the writer lost its lease, or it is not processing. The agent has already
 * stopped processing; it resumes by itself once it holds the lease again.
 */
export class StaleEpochError extends GreenlightError {
  constructor(
    readonly reason: StaleReason,
    readonly revision: string,
    readonly stampedEpoch: number,
    readonly found: { epoch?: number; active?: string | null; holder?: string } = {},
  ) {
    super('StaleEpoch', staleMessage(reason, revision, stampedEpoch, found), {
      reason,
      revision,
      stampedEpoch,
      ...found,
    });
  }
}

function staleMessage(
  reason: StaleReason,
  revision: string,
  stamped: number,
  found: { epoch?: number; active?: string | null; holder?: string },
): string {
  switch (reason) {
    case 'epoch':
      return `write by ${revision} stamped with epoch ${stamped} refused: the control record is at epoch ${found.epoch ?? 'none'} with active ${found.active ?? 'none'}; the agent stops processing and re-reads it`;
    case 'lease':
      return `write by ${revision} at epoch ${stamped} refused: the lease is held by ${found.holder || 'nobody'}, not this replica; the agent stops processing until it holds it again`;
    case 'not-processing':
      return `write by ${revision} refused: the agent is not processing (standby, or waiting for its lease); check agent.processing before writing`;
  }
}

export function isStaleEpoch(e: unknown): e is StaleEpochError {
  return e instanceof Error && errorCode(e) === 'StaleEpoch';
}
