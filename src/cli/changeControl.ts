import type { Command } from 'commander';
import type { DryRunReply, GreenlightClient } from './client';
import { UsageError } from './target';

/** What the change-control commands share with the rest of the program. */
export interface CommandKit {
  clientOf(cmd: Command): GreenlightClient;
  json(cmd: Command): boolean;
  print(lines: string[] | string): void;
  printJson(value: unknown): void;
}

/** `--app` for a stop: the app's full name, as the emergency-stop route takes it. */
function stopPath(app: string | undefined): string {
  if (app === undefined) return '/api/emergency-stop';
  const parts = app.split('/');
  if (parts.length !== 3 || parts.some((p) => p.trim() === '')) {
    throw new UsageError(
      `--app must be subscriptionId/resourceGroup/name for an emergency stop; got '${app}'`,
    );
  }
  return `/api/apps/${parts.map(encodeURIComponent).join('/')}/emergency-stop`;
}

function checkReason(flag: string, reason: string | undefined, required: boolean): void {
  if (reason === undefined) {
    if (required) throw new UsageError(`${flag} is required: say why`);
    return;
  }
  if (reason.trim().length < 3 || reason.length > 500) {
    throw new UsageError(`${flag} must be 3 to 500 characters; got ${reason.length}`);
  }
}

/** `greenlight stop` and `greenlight resume`: the emergency stop, and a rollout let through a freeze. */
export function addChangeControlCommands(program: Command, kit: CommandKit): void {
  program
    .command('stop')
    .description(
      'engage the emergency stop: new rollouts are refused, running ones pause before their next production change',
    )
    .option('--app <subscriptionId/resourceGroup/name>', 'stop this app only (default: every app)')
    .option('--reason <text>', 'why production is stopped (required, recorded with your identity)')
    .option('--abort-running', 'also abort every running rollout of the stopped scope (each rolls back)')
    .action(async (opts: { app?: string; reason?: string; abortRunning?: boolean }, cmd: Command) => {
      checkReason('--reason', opts.reason, true);
      const reply = await kit.clientOf(cmd).request<{
        engaged: boolean;
        stop: { by: string; since: string; reason: string };
        aborted?: string[];
      }>('PUT', stopPath(opts.app), {
        body: { reason: opts.reason, ...(opts.abortRunning ? { abortRunning: true } : {}) },
      });
      if (kit.json(cmd)) return kit.printJson(reply);
      const scope = opts.app ?? 'every app';
      kit.print([
        reply.engaged
          ? `emergency stop engaged for ${scope} by ${reply.stop.by}`
          : `an emergency stop was already engaged for ${scope} (by ${reply.stop.by} since ${reply.stop.since}: ${reply.stop.reason})`,
        ...(reply.aborted
          ? [`aborted ${reply.aborted.length} running rollout(s): ${reply.aborted.join(', ') || '-'}`]
          : []),
        `lift it:  greenlight resume${opts.app ? ` --app ${opts.app}` : ''}`,
      ]);
    });

  program
    .command('resume')
    .description(
      'lift the emergency stop (paused rollouts resume), or with --rollout and --override-reason let one paused rollout through a freeze',
    )
    .option('--app <subscriptionId/resourceGroup/name>', "lift this app's stop (default: the global one)")
    .option('--rollout <id>', 'resume this rollout instead of lifting a stop')
    .option(
      '--override-reason <text>',
      'with --rollout: override the freeze or windows, recorded with your identity',
    )
    .action(async (opts: { app?: string; rollout?: string; overrideReason?: string }, cmd: Command) => {
      const client = kit.clientOf(cmd);
      if (opts.rollout !== undefined) {
        checkReason('--override-reason', opts.overrideReason, false);
        const reply = await client.request<{ id: string; override?: { by: string } }>(
          'POST',
          `/api/rollouts/${encodeURIComponent(opts.rollout)}/resume`,
          { body: opts.overrideReason ? { override: { reason: opts.overrideReason } } : {} },
        );
        if (kit.json(cmd)) return kit.printJson(reply);
        return kit.print(
          `${reply.id}: resume requested${reply.override ? ` with an override by ${reply.override.by}` : ''}; follow it: greenlight status ${reply.id} --watch`,
        );
      }
      if (opts.overrideReason !== undefined) throw new UsageError('--override-reason needs --rollout <id>');
      const reply = await client.request<{ by: string; notified: string[] }>(
        'DELETE',
        stopPath(opts.app),
        {},
      );
      if (kit.json(cmd)) return kit.printJson(reply);
      kit.print(
        `emergency stop lifted for ${opts.app ?? 'every app'} by ${reply.by}; ${reply.notified.length} running rollout(s) told to resume`,
      );
    });
}

/** A dry run for people: verdict, findings, then each step with the ARM writes numbered. */
export function renderDryRun(p: DryRunReply): string[] {
  const lines = [
    `what-if: ${p.revisionName} under policy ${p.policy}${p.blue ? ` (blue: ${p.blue})` : ''}`,
    `change control: ${p.admission.verdict} (${p.admission.rule}): ${p.admission.reason}`,
  ];
  for (const w of p.changeControl.windows) lines.push(`  window (${w.layer}): ${w.text}`);
  for (const f of p.changeControl.freezes)
    lines.push(`  freeze (${f.layer}) ${f.name}: ${f.start} → ${f.end}: ${f.reason}`);
  for (const s of p.changeControl.stops) lines.push(`  emergency stop by ${s.by}: ${s.reason}`);
  for (const f of p.findings)
    lines.push(`guardrail ${f.kind} [${f.outcome}] ${f.setting}: ${f.message}; fix: ${f.fix}`);
  if (p.refused) {
    lines.push('a real run would stop before any change:', ...p.refusedBecause.map((r) => `  - ${r}`));
    return lines;
  }
  let n = 0;
  for (const s of p.steps) {
    if (s.kind === 'arm' && s.write)
      lines.push(`  ${++n}. [${s.phase}] ${s.write.method} ${s.write.path || '(app)'}: ${s.write.why}`);
    else if (s.kind === 'changeControl' && s.gate)
      lines.push(`     [${s.phase}] change control: ${s.gate.verdict}`);
    else if (s.kind === 'gate') lines.push(`     [${s.phase}] gates: ${(s.gates ?? []).join(', ')}`);
    else lines.push(`     [${s.phase}] ${s.kind}: ${s.what ?? ''}`);
  }
  lines.push(`${p.writes.length} ARM write(s); nothing was written by this dry run`);
  return lines;
}
