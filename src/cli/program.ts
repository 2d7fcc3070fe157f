import { Command, InvalidArgumentError, Option } from 'commander';
import { summarizeRollout, type RolloutView } from '../services/rolloutView';
import { readAudit, renderAudit, sinceOption } from './audit';
import { addChangeControlCommands, renderDryRun } from './changeControl';
import { GreenlightClient } from './client';
import { ExitCode, exitCodeHelp } from './exitCodes';
import { clock, paintFor, span, wantsColour } from './format';
import { judge, poll } from './follow';
import { LiveFrame } from './live';
import { spanOption } from './options';
import { knownPhases, parsePhaseTarget, phaseMeanings } from './phases';
import { addReleaseCommands } from './release';
import { renderList, renderStatus } from './render';
import { resolveTarget, UsageError, type TargetOptions } from './target';

/** What commands write to and read from; the entry point passes the process's own. */
export interface Io {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  setExitCode(code: number): void;
}

interface RolloutOptions {
  app: string;
  image: string;
  digest?: string;
  quiet?: boolean;
  dryRun?: boolean;
  overrideReason?: string;
}

interface GlobalOptions extends TargetOptions {
  output: 'text' | 'json';
}

/** The runtime statuses the list route filters by; anything else given to `list --status` is a phase. */
const runtimeStatuses = ['Pending', 'Running', 'Completed', 'Failed', 'Terminated', 'Suspended'];

/**
 * The control actions on a running (or finished) rollout. They share one route,
 * `POST /api/rollouts/{id}/{action}` with an optional `{reason}`, so a new action is one entry here.
 */
const controlActions: { name: string; summary: string; accepted: string }[] = [
  {
    name: 'promote',
    summary: 'skip the remaining waits (approval, bake, step pauses) and promote now',
    accepted: 'promotion requested',
  },
  {
    name: 'abort',
    summary: 'stop the rollout and restore the snapshot taken before it started',
    accepted: 'rollback requested',
  },
  {
    name: 'undo',
    summary:
      'after Succeeded, within the undo window: restore the snapshot taken before the rollout (a rollout still running is aborted)',
    accepted: 'undo requested',
  },
];

export function buildProgram(io: Io): Command {
  const program = new Command()
    .name('greenlight')
    .description('Follow and drive Greenlight blue-green rollouts of Azure Container Apps')
    .addOption(new Option('--url <url>', 'Greenlight Function App base URL').env('GREENLIGHT_URL'))
    .addOption(new Option('--key <key>', 'function key for the /api routes').env('GREENLIGHT_KEY'))
    .option('--local', 'talk to the Greenlight that `npm start` runs (reads .greenlight/local.json)')
    .addOption(
      new Option('-o, --output <format>', 'text for people, json for programs')
        .choices(['text', 'json'])
        .default('text'),
    )
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) })
    .addHelpText('after', `\n${exitCodeHelp}\n`);

  const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals<GlobalOptions>();
  const clientOf = (cmd: Command): GreenlightClient => {
    // commander has already applied GREENLIGHT_URL/GREENLIGHT_KEY to the options; resolveTarget names the source.
    const g = globals(cmd);
    const fromEnv = (name: 'url' | 'key'): boolean => cmd.parent?.getOptionValueSource(name) === 'env';
    return new GreenlightClient(
      resolveTarget(
        {
          ...(g.url && !fromEnv('url') ? { url: g.url } : {}),
          ...(g.key && !fromEnv('key') ? { key: g.key } : {}),
          ...(g.local ? { local: true } : {}),
        },
        io.env,
        io.cwd,
      ),
    );
  };
  const paint = paintFor(wantsColour(io.out));
  const print = (lines: string[] | string): void => {
    io.out.write(`${Array.isArray(lines) ? lines.join('\n') : lines}\n`);
  };
  const printJson = (value: unknown): void => print(JSON.stringify(value, null, 2));

  program
    .command('list')
    .description('list rollouts, newest first')
    .option('--app <app>', 'only this app')
    .option(
      '--status <status>',
      `a runtime status (${runtimeStatuses.join(', ')}) or a phase (e.g. WaitingApproval)`,
    )
    .action(async (opts: { app?: string; status?: string }, cmd: Command) => {
      let runtimeStatus: string | undefined;
      let phase: string | undefined;
      if (opts.status) {
        runtimeStatus = runtimeStatuses.find((s) => s.toLowerCase() === opts.status?.toLowerCase());
        phase = runtimeStatus ? undefined : parsePhaseTarget(opts.status);
        if (!runtimeStatus && (!phase || phase === 'done')) {
          throw new UsageError(
            `--status must be a runtime status (${runtimeStatuses.join(', ')}) or a phase (${knownPhases.join(', ')}); got '${opts.status}'`,
          );
        }
      }
      const list = await clientOf(cmd).listRollouts({ app: opts.app, status: runtimeStatus });
      const rollouts = phase ? list.rollouts.filter((v) => v.phase === phase) : list.rollouts;
      if (globals(cmd).output === 'json') return printJson({ rollouts, count: rollouts.length });
      print(renderList(rollouts, { paint, now: Date.now() }));
    });

  program
    .command('status')
    .description('show a rollout: phase, step, traffic, checks, gates, approval, timeline')
    .argument('<id>', 'rollout id')
    .option('-w, --watch', 'keep following it until it ends (redrawn in place on a terminal)')
    .addOption(
      new Option('--interval <span>', 'how often --watch looks')
        .argParser(spanOption('--interval', 100))
        .default(1000, '1s'),
    )
    .action(async (id: string, opts: { watch?: boolean; interval: number }, cmd: Command) => {
      const client = clientOf(cmd);
      const json = globals(cmd).output === 'json';
      if (!opts.watch) {
        const v = await client.getRollout(id);
        if (json) return printJson(v);
        return print(renderStatus(v, { paint, now: Date.now() }));
      }
      if (json) return watchJson(client, id, opts.interval, print);
      if (io.out.isTTY) return watchLive(client, id, opts.interval, io, paint);
      return watchPlain(client, id, opts.interval, print, io);
    });

  program
    .command('wait')
    .description('wait until a rollout reaches a phase, or ends (--for done); the exit code says how it went')
    .argument('<id>', 'rollout id')
    .requiredOption('--for <phase|done>', `done, or a phase: ${knownPhases.join(', ')}`, (value: string) => {
      const target = parsePhaseTarget(value);
      if (!target)
        throw new InvalidArgumentError(
          `--for must be done or one of ${knownPhases.join(', ')}; got '${value}'`,
        );
      return target;
    })
    .addOption(
      new Option('--timeout <span>', 'give up after this long (exit 4)')
        .argParser(spanOption('--timeout', 1))
        .default(30 * 60_000, '30m'),
    )
    .addOption(
      new Option('--interval <span>', 'how often to look')
        .argParser(spanOption('--interval', 100))
        .default(2000, '2s'),
    )
    .addHelpText(
      'after',
      `\nPhases:\n${Object.entries(phaseMeanings)
        .map(([p, m]) => `  ${p.padEnd(16)}${m}`)
        .join(
          '\n',
        )}\n\nA phase counts as reached once the rollout's timeline shows it, even if it has moved on.\n\n${exitCodeHelp}\n`,
    )
    .action(async (id: string, opts: { for: string; timeout: number; interval: number }, cmd: Command) => {
      const client = clientOf(cmd);
      const deadline = Date.now() + opts.timeout;
      let last = '';
      let result: ReturnType<typeof judge>;
      let latest: RolloutView | undefined;
      const ended = await poll(client, id, {
        intervalMs: opts.interval,
        deadline,
        onView: (v) => {
          latest = v;
          const step = v.step ? ` step ${v.step.index + 1}/${v.step.of}` : '';
          if (`${v.phase}${step}` !== last)
            io.err.write(`${clock(new Date().toISOString())} ${v.id} ${v.phase}${step}\n`);
          last = `${v.phase}${step}`;
          result = judge(v, opts.for);
          return result !== undefined;
        },
        onRetry: (why) => void io.err.write(`retrying: ${why}\n`),
      });
      if (ended === 'deadline' || !result) {
        result = {
          code: ExitCode.timedOut,
          message: `timed out after ${span(opts.timeout)} waiting for ${id} to reach ${opts.for}; it is ${latest?.phase ?? 'unknown'}`,
          ...(latest ? { view: latest } : {}),
        };
      }
      if (globals(cmd).output === 'json') {
        printJson({ for: opts.for, exitCode: result.code, message: result.message, rollout: result.view });
      } else {
        (result.code === ExitCode.ok ? io.out : io.err).write(`${result.message}\n`);
      }
      io.setExitCode(result.code);
    });

  program
    .command('rollout')
    .description(
      'start a rollout of an image (or join the same one, queue, or supersede, as the policy says)',
    )
    .requiredOption('--app <app>', 'the app: its policy name, app name, or subscriptionId/resourceGroup/name')
    .requiredOption('--image <ref>', 'the image, registry/repository:tag (optionally @sha256:digest)')
    .option(
      '--digest <digest>',
      'the image digest, sha256:<64 hex>; makes a repeated request the same rollout',
    )
    .option('-q, --quiet', 'print only the rollout id')
    .option(
      '--dry-run',
      'show what a real run would do (ARM writes in order, checks, findings); write nothing',
    )
    .option(
      '--override-reason <text>',
      'start although production is closed (a freeze or outside the windows)',
    )
    .action(async (opts: RolloutOptions, cmd: Command) => {
      const body = {
        app: opts.app,
        image: opts.image,
        ...(opts.digest ? { digest: opts.digest } : {}),
        ...(opts.overrideReason !== undefined ? { override: { reason: opts.overrideReason } } : {}),
      };
      if (opts.dryRun) {
        const plan = await clientOf(cmd).dryRun(body);
        return globals(cmd).output === 'json' ? printJson(plan) : print(renderDryRun(plan));
      }
      const reply = await clientOf(cmd).startRollout(body);
      const id = reply.admission.rolloutId ?? reply.id;
      if (globals(cmd).output === 'json') return printJson(reply);
      if (opts.quiet) return print(id);
      const a = reply.admission;
      const how: Record<string, string> = {
        started: 'started',
        duplicate: 'already exists (same image): nothing new started',
        queued: `queued behind ${String(a.behind)}`,
        superseding: `started; supersedes ${String(a.superseded)}`,
      };
      print([`rollout ${id} ${how[a.kind] ?? a.kind}`, `follow it:  greenlight status ${id} --watch`]);
    });

  program
    .command('audit')
    .description('show the audit trail, newest first: triggers, approvals, actions, writes, compensations')
    .option('--app <app>', "only this app (policy name, app name, or '-' for triggers naming no known app)")
    .option('--since <when>', 'only entries since a span ago (30m, 2h, 1d) or an instant (ISO 8601)')
    .option('--rollout <id>', 'only entries of this rollout')
    .addOption(
      new Option('--limit <n>', 'show at most this many entries')
        .argParser((value: string) => {
          const n = Number(value);
          if (!Number.isInteger(n) || n < 1 || n > 10_000)
            throw new InvalidArgumentError(`--limit must be a whole number from 1 to 10000; got '${value}'`);
          return n;
        })
        .default(50),
    )
    .action(async (opts: { app?: string; since?: string; rollout?: string; limit: number }, cmd: Command) => {
      const since = opts.since === undefined ? undefined : sinceOption(opts.since, Date.now());
      const q = {
        ...(opts.app !== undefined ? { app: opts.app } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(opts.rollout !== undefined ? { rollout: opts.rollout } : {}),
      };
      const entries = await readAudit(clientOf(cmd), q, opts.limit);
      if (globals(cmd).output === 'json') return printJson({ entries, count: entries.length });
      print(renderAudit(entries, paint));
    });

  addChangeControlCommands(program, {
    clientOf,
    json: (cmd) => globals(cmd).output === 'json',
    print,
    printJson,
  });

  addReleaseCommands(program, {
    clientOf,
    json: (cmd) => globals(cmd).output === 'json',
    print,
    printJson,
    setExitCode: (code) => io.setExitCode(code),
  });

  for (const action of controlActions) {
    program
      .command(action.name)
      .description(action.summary)
      .argument('<id>', 'rollout id')
      .option('--reason <text>', 'why, recorded with the rollout (up to 500 characters)')
      .action(async (id: string, opts: { reason?: string }, cmd: Command) => {
        if (opts.reason !== undefined && opts.reason.length > 500) {
          throw new UsageError(`--reason must be at most 500 characters; got ${opts.reason.length}`);
        }
        const reply = await clientOf(cmd).control(id, action.name, opts.reason);
        if (globals(cmd).output === 'json') return printJson(reply);
        // An undo of a rollout that had not succeeded yet is answered as an abort.
        const accepted =
          reply.action === action.name
            ? action.accepted
            : `not promoted yet: ${reply.action} requested instead`;
        print(
          `${id}: ${accepted}${reply.by ? ` (by ${reply.by})` : ''}; follow it: greenlight status ${id} --watch`,
        );
      });
  }

  return program;
}

/** `-o json --watch`: one JSON view per line whenever it changes, for programs that follow a rollout. */
async function watchJson(
  client: GreenlightClient,
  id: string,
  intervalMs: number,
  print: (s: string) => void,
) {
  let last = '';
  await poll(client, id, {
    intervalMs,
    onView: (v) => {
      const text = JSON.stringify(v);
      if (text !== last) print(text);
      last = text;
      return v.done;
    },
  });
}

/** Not a terminal (a log, a pipe): a plain line each time the rollout moves, and the approval link once. */
async function watchPlain(
  client: GreenlightClient,
  id: string,
  intervalMs: number,
  print: (s: string) => void,
  io: Io,
) {
  let last = '';
  let linkShown = '';
  await poll(client, id, {
    intervalMs,
    onView: (v) => {
      const line = summarizeRollout(v);
      if (line !== last) print(`${clock(new Date().toISOString())} ${line}`);
      last = line;
      if (v.approval.pageUrl && v.approval.pageUrl !== linkShown) {
        print(
          `approval pending${v.approval.expiresAt ? ` until ${clock(v.approval.expiresAt)}` : ''}: ${v.approval.pageUrl}`,
        );
        linkShown = v.approval.pageUrl;
      }
      return v.done;
    },
    onRetry: (why) => void io.err.write(`retrying: ${why}\n`),
  });
}

/** A terminal: the full view, redrawn in place while it changes; the last frame stays. */
async function watchLive(
  client: GreenlightClient,
  id: string,
  intervalMs: number,
  io: Io,
  paint: ReturnType<typeof paintFor>,
) {
  const frame = new LiveFrame(io.out);
  const restore = (): void => frame.close();
  const interrupted = (): void => {
    restore();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  let trouble = '';
  let latest: RolloutView | undefined;
  const draw = (): void => {
    if (!latest) return;
    const v = latest;
    const footer = v.done
      ? paint('dim', 'rollout ended')
      : paint('dim', `watching every ${intervalMs / 1000}s · Ctrl-C stops${trouble ? ` · ${trouble}` : ''}`);
    let lines = [...renderStatus(v, { paint, now: Date.now() }), footer];
    const over = lines.length - frame.maxLines;
    if (over > 0) {
      const limit = Math.max(1, v.timeline.length - over - 1);
      lines = [...renderStatus(v, { paint, now: Date.now(), timelineLimit: limit }), footer];
    }
    frame.draw(lines);
  };
  try {
    await poll(client, id, {
      intervalMs,
      onView: (v) => {
        latest = v;
        trouble = '';
        draw();
        return v.done;
      },
      onRetry: (why) => {
        trouble = `retrying: ${why}`;
        draw();
      },
    });
  } finally {
    process.removeListener('SIGINT', interrupted);
    restore();
  }
}
