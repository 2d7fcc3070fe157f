// Orchestrations the benchmarks run on the local runtime, registered through the real `df.app.*` API.
import * as df from 'durable-functions';

df.app.activity('benchStep', { handler: (n: number) => n + 1 });

/** A chain of `input.steps` activities: each decision replays the whole history so far. */
df.app.orchestration('benchChain', function* (context) {
  const { steps } = context.df.getInput() as { steps: number };
  let n = 0;
  for (let i = 0; i < steps; i++) n = (yield context.df.callActivity('benchStep', n)) as number;
  return n;
});
