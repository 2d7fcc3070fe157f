import type { OrchestrationContext, Task } from 'durable-functions';
import { pollUntil, type Poll } from '../../src/orchestrators/poll';
import { Saga, type Undo } from '../../src/orchestrators/saga';
import { StopRollout } from '../../src/orchestrators/stop';

/** Runs an orchestration step to its end, answering every yielded task with undefined. */
function drive<T>(step: Generator<Task, T, unknown>): T {
  for (let next = step.next(); ; next = step.next(undefined)) if (next.done) return next.value;
}

function undo(what: string, log: string[], fail?: string): Undo {
  return {
    what,
    // eslint-disable-next-line require-yield
    *run() {
      log.push(what);
      if (fail) throw new Error(`${fail}\n    at some stack frame`);
    },
  };
}

describe('the saga', () => {
  it('undoes newest first, keeps going past a failed undo, and reports it by name and first line', () => {
    const log: string[] = [];
    const saga = new Saga();
    saga.add(undo('deactivate revision web--b', log, '[ArmThrottled] too many requests'));
    saga.add(undo('restore traffic to web--a=100', log));
    saga.add(undo('delete web--b keys', log));
    const leftToDo = drive(saga.compensate());
    expect(log).toEqual([
      'delete web--b keys',
      'restore traffic to web--a=100',
      'deactivate revision web--b',
    ]);
    expect(leftToDo).toEqual(['deactivate revision web--b: [ArmThrottled] too many requests']);
  });

  it('adds several undos at once as if one after the other', () => {
    const log: string[] = [];
    const saga = new Saga();
    saga.add(undo('first added', log), undo('second added', log));
    drive(saga.compensate());
    expect(log).toEqual(['second added', 'first added']);
  });

  it('has nothing to undo once committed', () => {
    const log: string[] = [];
    const saga = new Saga();
    saga.add(undo('restore traffic', log));
    saga.commit();
    expect(drive(saga.compensate())).toEqual([]);
    expect(log).toEqual([]);
  });
});

describe('polling until a deadline', () => {
  /** Just the replay-safe clock, which a pause moves forward. */
  function clockContext(start = Date.parse('2026-01-01T00:00:00Z')) {
    const df = { currentUtcDateTime: new Date(start) };
    const pauses: number[] = [];
    return {
      context: { df } as unknown as OrchestrationContext,
      pauses,
      *pause(ms: number): Generator<Task, void, unknown> {
        pauses.push(ms);
        yield undefined as unknown as Task;
        df.currentUtcDateTime = new Date(df.currentUtcDateTime.getTime() + ms);
      },
    };
  }

  function looks(...answers: Poll<string>[]) {
    let i = 0;
    // eslint-disable-next-line require-yield
    return function* (): Generator<Task, Poll<string>, unknown> {
      return answers[Math.min(i++, answers.length - 1)]!;
    };
  }

  const messages = { failed: (m: string) => `failed: ${m}`, timedOut: (m: string) => `timed out: ${m}` };

  it('returns what the look found once done, backing off between looks', () => {
    const c = clockContext();
    const pending: Poll<string> = { state: 'pending', message: 'provisioning' };
    const value = drive(
      pollUntil(c.context, {
        timeoutMs: 60_000,
        intervalMs: 1_000,
        look: looks(pending, pending, pending, { state: 'done', value: 'ready' }),
        pause: (ms) => c.pause(ms),
        ...messages,
      }),
    );
    expect(value).toBe('ready');
    expect(c.pauses).toEqual([1_000, 1_500, 2_250]);
  });

  it('stops at once on a failed look', () => {
    const c = clockContext();
    expect(() =>
      drive(
        pollUntil(c.context, {
          timeoutMs: 60_000,
          intervalMs: 1_000,
          look: looks({ state: 'failed', message: 'revision is Degraded' }),
          pause: (ms) => c.pause(ms),
          ...messages,
        }),
      ),
    ).toThrow(new StopRollout('failed: revision is Degraded'));
    expect(c.pauses).toEqual([]);
  });

  it('never sleeps past the deadline, and stops with the last look when it passes', () => {
    const c = clockContext();
    let error: unknown;
    try {
      drive(
        pollUntil(c.context, {
          timeoutMs: 5_000,
          intervalMs: 2_000,
          look: looks({ state: 'pending', message: 'health not yet reported' }),
          pause: (ms) => c.pause(ms),
          ...messages,
        }),
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StopRollout);
    expect((error as StopRollout).reason).toBe('timed out: health not yet reported');
    // 2 s, then 3 s would be 5 s: exactly the deadline, where the last look is taken.
    expect(c.pauses).toEqual([2_000, 3_000]);
  });
});
