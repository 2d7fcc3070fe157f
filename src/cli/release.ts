import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { releaseTerminalPhases } from '../domain/release/types';
import { summarizeRelease, type ReleaseView } from '../services/releaseView';
import type { CommandKit } from './changeControl';
import { isApiError, UnreachableError, type GreenlightClient } from './client';
import { ExitCode, exitCodeOfEnd } from './exitCodes';
import { clock, table } from './format';
import { spanOption } from './options';
import { UsageError } from './target';

/** What `POST /api/releases` answers. */
export interface ReleaseStartReply {
  id: string;
  greenlightStatusUri?: string;
  admission: { kind: string; releaseId: string; [k: string]: unknown };
}

export interface ReleaseList {
  releases: ReleaseView[];
  count: number;
}

/** The release routes, on the CLI's one HTTP client. */
export const releaseApi = {
  start: (c: GreenlightClient, body: { release: string; images: Record<string, string>; reason?: string }) =>
    c.request<ReleaseStartReply>('POST', '/api/releases', { body }),
  get: (c: GreenlightClient, id: string) =>
    c.request<ReleaseView>('GET', `/api/releases/${encodeURIComponent(id)}`),
  list: (c: GreenlightClient, q: { name?: string }) =>
    c.request<ReleaseList>('GET', '/api/releases', { query: q }),
  control: (c: GreenlightClient, id: string, action: string, reason?: string) =>
    c.request<{ id: string; action: string; accepted: boolean; by?: string }>(
      'POST',
      `/api/releases/${encodeURIComponent(id)}/${encodeURIComponent(action)}`,
      { body: reason ? { reason } : {} },
    ),
};

/** `--image api=registry/repo:tag`, repeatable: the member's policy name and its image. */
function imagePair(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  const app = value.slice(0, at).trim();
  const image = value.slice(at + 1).trim();
  if (at <= 0 || !app || !image) {
    throw new UsageError(
      `--image must be <member>=<image>, e.g. api=contoso.azurecr.io/shop/api:v2; got '${value}'`,
    );
  }
  if (previous[app] !== undefined) throw new UsageError(`--image names member '${app}' twice`);
  return { ...previous, [app]: image };
}

/** The release's lines for a person: phase, approval, each member's phase and image, what is left to do. */
export function renderRelease(v: ReleaseView): string[] {
  const lines = [`release ${v.id} (${v.name})  ${v.phase}${v.outcome ? ` → ${v.outcome}` : ''}`];
  if (v.reason) lines.push(`  reason: ${v.reason}`);
  if (v.approval) {
    lines.push(
      `  approval: ${v.approval.state}${v.approval.by ? ` by ${v.approval.by}` : ''}${
        v.approval.pageUrl ? `  ${v.approval.pageUrl}` : ''
      }`,
    );
  }
  lines.push(
    ...table([
      ['  member', 'rollout', 'phase', 'promoted', 'image'],
      ...v.members.map((m) => [
        `  ${m.app}`,
        m.rolloutId,
        `${m.rollout?.phase ?? m.phase ?? 'pending'}${m.outcome ? ` (${m.outcome})` : ''}`,
        m.promoted ? 'yes' : 'no',
        m.image ?? '',
      ]),
    ]),
  );
  for (const m of v.members) for (const t of m.leftToDo ?? []) lines.push(`  left to do (${m.app}): ${t}`);
  for (const t of v.leftToDo ?? []) lines.push(`  left to do: ${t}`);
  if (v.undo) lines.push(`  undo possible until ${clock(v.undo.until)}`);
  return lines;
}

const controls = [
  {
    name: 'promote',
    summary: 'skip the release approval and bake and promote every member now',
    past: 'promotion',
  },
  {
    name: 'abort',
    summary: 'stop the release: every member rolls back, promoted ones in reverse order',
    past: 'rollback',
  },
  {
    name: 'undo',
    summary: 'after Succeeded, within the undo window: undo every member, in reverse order',
    past: 'undo',
  },
];

/** `greenlight release start|status|list|abort|promote|undo`: several apps rolled out as one. */
export function addReleaseCommands(
  program: Command,
  kit: CommandKit & { setExitCode(code: number): void },
): void {
  const release = program
    .command('release')
    .description('coordinated releases: several apps rolled out as one, one approval, all-or-nothing');

  release
    .command('start')
    .description('start a release: one image per member app (or join the same one, queue or supersede)')
    .argument('<release>', "the release's name (a `kind: Release` policy)")
    .requiredOption('--image <member=image>', 'a member and its image; repeat for every member', imagePair)
    .option('--reason <text>', 'why, recorded with the release (up to 500 characters)')
    .option('-q, --quiet', 'print only the release id')
    .action(
      async (
        name: string,
        opts: { image: Record<string, string>; reason?: string; quiet?: boolean },
        cmd: Command,
      ) => {
        const reply = await releaseApi.start(kit.clientOf(cmd), {
          release: name,
          images: opts.image,
          ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
        });
        if (kit.json(cmd)) return kit.printJson(reply);
        if (opts.quiet) return kit.print(reply.id);
        const a = reply.admission;
        const how: Record<string, string> = {
          started: 'started',
          duplicate: 'already running with these images: nothing new started',
          queued: `queued behind ${String(a.behind)}`,
          superseding: `started; supersedes ${String(a.superseded)}`,
        };
        kit.print([
          `release ${reply.id} ${how[a.kind] ?? a.kind}`,
          `follow it:  greenlight release status ${reply.id} --watch`,
        ]);
      },
    );

  release
    .command('status')
    .description('show a release: its phase, approval and every member rollout')
    .argument('<id>', 'release id')
    .option('-w, --watch', 'keep following it until it ends; the exit code says how it ended')
    .addOption(
      new Option('--interval <span>', 'how often --watch looks')
        .argParser(spanOption('--interval', 100))
        .default(1000, '1s'),
    )
    .action(async (id: string, opts: { watch?: boolean; interval: number }, cmd: Command) => {
      const client = kit.clientOf(cmd);
      if (!opts.watch) {
        const v = await releaseApi.get(client, id);
        return kit.json(cmd) ? kit.printJson(v) : kit.print(renderRelease(v));
      }
      let last = '';
      let failures = 0;
      for (;;) {
        let v: ReleaseView;
        try {
          v = await releaseApi.get(client, id);
          failures = 0;
        } catch (e) {
          const transient = e instanceof UnreachableError || (isApiError(e) && e.status >= 500);
          if (!transient || ++failures > 5) throw e;
          await sleep(opts.interval);
          continue;
        }
        const line = kit.json(cmd)
          ? JSON.stringify(v)
          : `${clock(new Date().toISOString())} ${summarizeRelease(v)}`;
        const key = kit.json(cmd) ? line : summarizeRelease(v);
        if (key !== last) kit.print(line);
        last = key;
        // Succeeded with its undo window open is an end for whoever follows it.
        if (v.done || (releaseTerminalPhases as readonly string[]).includes(v.phase)) {
          if (!kit.json(cmd)) kit.print(renderRelease(v));
          kit.setExitCode(
            v.phase === 'Crashed' || v.phase === 'Terminated' ? ExitCode.crashed : exitCodeOfEnd(v.phase),
          );
          return;
        }
        await sleep(opts.interval);
      }
    });

  release
    .command('list')
    .description('list releases, running ones first')
    .option('--name <release>', 'only this release')
    .action(async (opts: { name?: string }, cmd: Command) => {
      const list = await releaseApi.list(kit.clientOf(cmd), opts.name ? { name: opts.name } : {});
      if (kit.json(cmd)) return kit.printJson(list);
      if (list.releases.length === 0) return kit.print('no releases');
      kit.print(
        table([
          ['id', 'release', 'phase', 'members', 'created'],
          ...list.releases.map((v) => [
            v.id,
            v.name,
            `${v.phase}${v.outcome ? ` (${v.outcome})` : ''}`,
            v.members.map((m) => `${m.app}:${m.phase ?? 'pending'}${m.promoted ? '*' : ''}`).join(' '),
            clock(v.createdAt),
          ]),
        ]),
      );
    });

  for (const c of controls) {
    release
      .command(c.name)
      .description(c.summary)
      .argument('<id>', 'release id')
      .option('--reason <text>', 'why, recorded with the release (up to 500 characters)')
      .action(async (id: string, opts: { reason?: string }, cmd: Command) => {
        if (opts.reason !== undefined && opts.reason.length > 500) {
          throw new UsageError(`--reason must be at most 500 characters; got ${opts.reason.length}`);
        }
        const reply = await releaseApi.control(kit.clientOf(cmd), id, c.name, opts.reason);
        if (kit.json(cmd)) return kit.printJson(reply);
        kit.print(
          `${id}: ${reply.action === c.name ? `${c.past} requested` : `${reply.action} requested instead`}${
            reply.by ? ` (by ${reply.by})` : ''
          }; follow it: greenlight release status ${id} --watch`,
        );
      });
  }
}
