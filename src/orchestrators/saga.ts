import type { Task } from 'durable-functions';
import { errorMessage } from '../domain/errors';
import { firstLine } from './stop';

/** How to undo one step, and how to name it to an operator when it cannot be undone. */
export interface Undo {
  what: string;
  run(): Generator<Task, unknown, unknown>;
}

/** Runs one undo (how persistently is the runner's business); throws when it could not be undone. */
export type UndoRunner = (undo: Undo) => Generator<Task, unknown, unknown>;

/**
 * Compensations as data (Temporal's saga): each undo is added before the step that needs it, so a
 * retried or half-done step still gets undone; they run newest first; a failed one does not stop the
 * others, it becomes a line of `leftToDo`.
 */
export class Saga {
  private undos: Undo[] = [];

  /** `runner` is asked for at each compensation, so a retry bound can start when the rollback does. */
  constructor(private readonly runner: () => UndoRunner = () => (undo) => undo.run()) {}

  /** Undoes run in the reverse order of their adding. */
  add(...undos: Undo[]): void {
    for (const undo of undos) this.undos.unshift(undo);
  }

  /** The point of no return: what is done from here on stays done. */
  commit(): void {
    this.undos = [];
  }

  /** Runs every undo, newest first, past failures; returns what could not be undone, and why. */
  *compensate(): Generator<Task, string[], unknown> {
    const leftToDo: string[] = [];
    const runUndo = this.runner();
    for (const undo of this.undos) {
      try {
        yield* runUndo(undo);
      } catch (e) {
        // Keep going: restoring production matters more than tidying up, and the operator gets the full list.
        leftToDo.push(`${undo.what}: ${firstLine(errorMessage(e))}`);
      }
    }
    this.undos = [];
    return leftToDo;
  }
}
