import type { OrchestrationContext, Task } from 'durable-functions';

interface Scheduled {
  alreadyScheduled?: boolean;
  actionObj?: { compoundActions?: unknown[] };
}

/**
 * `Task.any` over tasks of which some may already be scheduled (a running child orchestration waited for
 * again after an event). durable-js builds a new compound's action from every child's action, so a
 * running child yielded inside a new `Task.any` is sent to the Durable Task extension a second time
 * (Azure/azure-functions-durable-js#574): a second start of the same child, or a replay that no longer
 * matches its history. Here the compound carries only the actions of children not yet scheduled, as the
 * Python SDK does since its fix; with none left it schedules nothing.
 */
export function anyOf(context: OrchestrationContext, tasks: Task[]): Task {
  const any = context.df.Task.any(tasks);
  const fresh = tasks.filter((t) => !(t as Scheduled).alreadyScheduled);
  if (fresh.length === tasks.length) return any;
  const compound = any as unknown as Scheduled;
  if (fresh.length === 0) compound.alreadyScheduled = true;
  else if (compound.actionObj)
    compound.actionObj.compoundActions = fresh.map((t) => (t as Scheduled).actionObj);
  return any;
}
