import type { Policy } from '../policy/schema';
import type { AppSnapshot, RevisionInfo, RevisionScope } from '../ports/containerApps';
import { revisionNameProblem } from '../revisionSuffix';
import { driftBetween } from './drift';
import { rolloutLabels } from './labels';

/**
 * Guardrails: Container Apps settings that make a textbook blue-green wrong without any error, read
 * from the app snapshot before anything changes. Pure: each finding names the setting, what the
 * rollout does about it (from the policy's `guardrails`), and the fix.
 */
export type GuardrailKind =
  | 'stickySessions'
  | 'labelsMode'
  | 'scaleToZero'
  | 'internalIngress'
  | 'drift'
  | 'revisionLimit'
  | 'suffixCollision';

/**
 * refuse: the rollout stops before any change. adjust: it proceeds with `adjustment` (and undoes it
 * after). warn: it proceeds, and the status shows the warning. info: recorded only.
 */
export type GuardrailOutcome = 'refuse' | 'adjust' | 'warn' | 'info';

/** An ARM change the rollout makes because of a finding, and the one that puts it back. */
export interface GuardrailAdjustment {
  /** When: before the mode switch, in green's template, before the deploy, or at finalise. */
  when: 'beforeModeSwitch' | 'greenTemplate' | 'beforeDeploy' | 'finalise';
  /** JSON merge patch of the app (wire shape, under `properties`), or a description for non-PATCH steps. */
  patch?: Record<string, unknown>;
  restore?: { when: 'finalise'; patch: Record<string, unknown> };
  note: string;
}

export interface GuardrailFinding {
  kind: GuardrailKind;
  /** The Container Apps setting, as the ARM path under properties, e.g. `configuration.ingress.stickySessions.affinity`. */
  setting: string;
  value: unknown;
  outcome: GuardrailOutcome;
  /** The policy setting that chose the outcome, e.g. `guardrails.stickySessions: refuse`. */
  policyChoice?: string;
  message: string;
  fix: string;
  adjustment?: GuardrailAdjustment;
  details?: Record<string, unknown>;
}

/** What the guardrails read of a policy; a Policy is one, and so is what a rollout plan carries of it. */
export interface GuardrailPolicy {
  app: { name: string; container?: string };
  strategy: { type: Policy['strategy']['type'] };
  validation: { smoke: readonly unknown[]; dependencies?: unknown };
  cleanup: { keepRevisions: number };
  guardrails: Policy['guardrails'];
}

export interface GuardrailInput {
  policy: GuardrailPolicy;
  snapshot: AppSnapshot;
  image: string;
  revisionSuffix: string;
}

/** ACA keeps this many inactive revisions when `maxInactiveRevisions` is not set. */
export const defaultMaxInactiveRevisions = 100;

/** Blue: the revision with the most traffic, else the latest ready one. */
export function blueOf(snapshot: AppSnapshot): RevisionInfo | undefined {
  const heaviest = [...snapshot.traffic].sort((a, b) => b.weight - a.weight)[0];
  const name = heaviest && heaviest.weight > 0 ? heaviest.revisionName : snapshot.latestReadyRevisionName;
  return snapshot.revisions.find((r) => r.name === name);
}

/** What the new revision's template will be: the app's template with the image replaced. */
export function greenTemplate(
  template: RevisionScope,
  image: string,
  containerName: string | undefined,
): RevisionScope {
  const index = containerName ? template.containers.findIndex((c) => c.name === containerName) : 0;
  return {
    ...template,
    containers: template.containers.map((c, i) => (i === index ? { ...c, image } : c)),
  };
}

export function guardrailFindings(input: GuardrailInput): GuardrailFinding[] {
  return [
    stickySessions(input),
    labelsMode(input),
    scaleToZero(input),
    internalIngress(input),
    drift(input),
    revisionLimit(input),
    suffixCollision(input),
  ].filter((f): f is GuardrailFinding => f !== undefined);
}

/** The findings that stop the rollout before any change. */
export function refusals(findings: GuardrailFinding[]): GuardrailFinding[] {
  return findings.filter((f) => f.outcome === 'refuse');
}

function stickySessions({ policy, snapshot }: GuardrailInput): GuardrailFinding | undefined {
  if (snapshot.stickySessions?.toLowerCase() !== 'sticky') return undefined;
  const setting = 'configuration.ingress.stickySessions.affinity';
  if (policy.strategy.type !== 'traffic') {
    return {
      kind: 'stickySessions',
      setting,
      value: 'sticky',
      outcome: 'warn',
      message:
        'session affinity works only in Single revision mode; the rollout runs the app in Multiple mode, where clients lose their replica',
      fix: "set affinity to 'none' if the app keeps no session state in memory, or accept that sessions move once",
    };
  }
  const choice = policy.guardrails.stickySessions;
  if (choice === 'refuse') {
    return {
      kind: 'stickySessions',
      setting,
      value: 'sticky',
      outcome: 'refuse',
      policyChoice: 'guardrails.stickySessions: refuse',
      message:
        'session affinity is supported only in Single revision mode, and the traffic strategy splits traffic between two revisions in Multiple mode',
      fix: "set guardrails.stickySessions: switchAffinity (affinity none during the rollout, sticky again after), set the app's affinity to none, or use the flag strategy",
    };
  }
  return {
    kind: 'stickySessions',
    setting,
    value: 'sticky',
    outcome: 'adjust',
    policyChoice: 'guardrails.stickySessions: switchAffinity',
    message:
      'session affinity is turned off for the rollout (Multiple mode cannot keep it) and turned back on, with Single mode, once green holds all traffic',
    fix: 'none needed; clients may change replica once during the rollout',
    adjustment: {
      when: 'beforeModeSwitch',
      patch: { properties: { configuration: { ingress: { stickySessions: { affinity: 'none' } } } } },
      restore: {
        when: 'finalise',
        patch: {
          properties: {
            configuration: {
              activeRevisionsMode: 'Single',
              ingress: { stickySessions: { affinity: 'sticky' } },
            },
          },
        },
      },
      note: 'Single mode deactivates every revision but the latest: blue is not kept warm after finalise',
    },
  };
}

function labelsMode({ policy, snapshot }: GuardrailInput): GuardrailFinding | undefined {
  if (snapshot.activeRevisionsMode?.toLowerCase() !== 'labels') return undefined;
  const setting = 'configuration.activeRevisionsMode';
  if (policy.guardrails.labelsMode === 'refuse') {
    return {
      kind: 'labelsMode',
      setting,
      value: snapshot.activeRevisionsMode,
      outcome: 'refuse',
      policyChoice: 'guardrails.labelsMode: refuse',
      message:
        'the app is in Labels revision mode (label routing, label history, unlabelled revisions shut down); Greenlight will not switch it to Multiple behind its owner’s back',
      fix: 'set guardrails.labelsMode: useLabels to roll out through the app’s labels, or switch the app to Multiple mode yourself',
    };
  }
  if (policy.strategy.type !== 'traffic') {
    return {
      kind: 'labelsMode',
      setting,
      value: snapshot.activeRevisionsMode,
      outcome: 'refuse',
      policyChoice: 'guardrails.labelsMode: useLabels',
      message:
        'the app is in Labels revision mode, where a new revision takes the target label (and its traffic) at once; the flag strategy does not move labels',
      fix: 'use strategy.type: traffic to roll out through the labels, or switch the app to Multiple mode yourself',
    };
  }
  const names = rolloutLabels(snapshot.traffic);
  const weighted = snapshot.traffic.filter((t) => t.weight > 0);
  const production = weighted.map((t) => (t.label ? `'${t.label}'` : `(unlabelled ${t.weight}%)`)).join(', ');
  return {
    kind: 'labelsMode',
    setting,
    value: snapshot.activeRevisionsMode,
    outcome: 'adjust',
    policyChoice: 'guardrails.labelsMode: useLabels',
    message: `the app stays in Labels mode: green is deployed under label '${names.green}' (the target label for its deploy${snapshot.targetLabel ? `, '${snapshot.targetLabel}' again after` : ''}) and validated at that label's URL; promotion moves the production label(s) ${production} to green, blue keeps label '${names.blue}' until finalise`,
    fix: 'none needed',
    adjustment: {
      when: 'beforeModeSwitch',
      note: 'no revision-mode write: the mode switch is skipped; rollback writes the traffic (labels and weights) and the target label back as they were',
    },
    details: { greenLabel: names.green, blueLabel: names.blue, targetLabel: snapshot.targetLabel },
  };
}

function scaleToZero({ policy, snapshot, image }: GuardrailInput): GuardrailFinding | undefined {
  const template = snapshot.template;
  if (!template) return undefined;
  // ACA's default minimum is 0: an unset minReplicas scales to zero too.
  const min = template.scale.minReplicas ?? 0;
  if (min > 0) return undefined;
  const setting = 'template.scale.minReplicas';
  if (policy.guardrails.scaleToZero === 'refuse') {
    return {
      kind: 'scaleToZero',
      setting,
      value: min,
      outcome: 'refuse',
      policyChoice: 'guardrails.scaleToZero: refuse',
      message:
        'green would scale to zero: no replica answers smoke checks until a cold start, which can fail their latency budget',
      fix: 'set minReplicas to 1 or more, or set guardrails.scaleToZero: holdOneReplica',
    };
  }
  return {
    kind: 'scaleToZero',
    setting,
    value: min,
    outcome: 'adjust',
    policyChoice: 'guardrails.scaleToZero: holdOneReplica',
    message: `green is deployed with minReplicas 1 so validation measures a warm revision; the app's scale (minReplicas ${min}) is put back at finalise`,
    fix: 'none needed',
    adjustment: {
      when: 'greenTemplate',
      patch: { properties: { template: { scale: { minReplicas: 1 } } } },
      restore: { when: 'finalise', patch: { properties: { template: { scale: { minReplicas: min } } } } },
      note: `scale is revision-scope in ACA: putting minReplicas back creates one more revision of ${image} with the original scale, which takes green's traffic once ready`,
    },
  };
}

function internalIngress({ policy, snapshot }: GuardrailInput): GuardrailFinding | undefined {
  if (snapshot.ingressExternal !== false) return undefined;
  const checks = policy.validation.smoke.length + (policy.validation.dependencies ? 1 : 0);
  if (checks === 0) return undefined;
  const setting = 'configuration.ingress.external';
  if (policy.guardrails.probeEndpoint) {
    return {
      kind: 'internalIngress',
      setting,
      value: false,
      outcome: 'info',
      policyChoice: `guardrails.probeEndpoint: ${policy.guardrails.probeEndpoint}`,
      message: `ingress is internal to the environment: smoke checks go through ${policy.guardrails.probeEndpoint}`,
      fix: 'none needed',
    };
  }
  return {
    kind: 'internalIngress',
    setting,
    value: false,
    outcome: 'refuse',
    policyChoice: 'guardrails.probeEndpoint: not set',
    message: `ingress is internal (external: false) and guardrails.probeEndpoint is not set: green's address is reachable only inside its environment, so ${checks} smoke check(s) cannot reach it`,
    fix: 'set guardrails.probeEndpoint to an address inside the environment Greenlight can reach green through (e.g. https://gateway.internal/{fqdn}), or remove the smoke checks',
    details: { field: 'guardrails.probeEndpoint' },
  };
}

function drift({ policy, snapshot, image }: GuardrailInput): GuardrailFinding | undefined {
  const blue = blueOf(snapshot);
  if (!blue?.template || !snapshot.template) return undefined;
  const green = greenTemplate(snapshot.template, image, policy.app.container);
  const fields = driftBetween(blue.template, green, policy.app.container);
  if (fields.length === 0) return undefined;
  const choice = policy.guardrails.drift;
  const list = fields.map((f) => f.field).join(', ');
  return {
    kind: 'drift',
    setting: 'template',
    value: fields,
    outcome: choice === 'refuse' ? 'refuse' : choice === 'warn' ? 'warn' : 'info',
    policyChoice: `guardrails.drift: ${choice}`,
    message: `the app's template differs from blue (${blue.name}) in ${list}: changed outside Greenlight since blue was deployed; green ${choice === 'refuse' ? 'would carry' : 'carries'} these changes`,
    fix:
      choice === 'refuse'
        ? "review the changes; set guardrails.drift: carry (or warn) to roll them out with the image, or put the app's template back to blue's"
        : 'none needed if the changes are intended; otherwise put the template back to blue’s before rolling out',
    details: { blue: blue.name, fields },
  };
}

function revisionLimit({ policy, snapshot }: GuardrailInput): GuardrailFinding | undefined {
  const limit = snapshot.maxInactiveRevisions ?? defaultMaxInactiveRevisions;
  const inactive = snapshot.revisions
    .filter((r) => !r.active)
    .sort((a, b) => (a.createdTime ?? '').localeCompare(b.createdTime ?? ''));
  const active = snapshot.revisions.filter((r) => r.active);
  // After the rollout: green active, and the newest keepRevisions kept; the rest become inactive.
  const retiring = Math.max(0, active.length + 1 - Math.max(policy.cleanup.keepRevisions, 1));
  const after = inactive.length + retiring;
  if (after < limit) return undefined;
  const purged = inactive.slice(0, after - limit + 1).map((r) => r.name);
  const setting = 'configuration.maxInactiveRevisions';
  const message = `the app keeps at most ${limit} inactive revisions and has ${inactive.length}; after this rollout retires ${retiring}, ACA drops the oldest: ${purged.join(', ')}`;
  if (policy.guardrails.revisionLimit === 'refuse') {
    return {
      kind: 'revisionLimit',
      setting,
      value: limit,
      outcome: 'refuse',
      policyChoice: 'guardrails.revisionLimit: refuse',
      message,
      fix: `raise maxInactiveRevisions (e.g. az containerapp update --max-inactive-revisions), or set guardrails.revisionLimit: cleanup`,
      details: { inactive: inactive.length, retiring, purged },
    };
  }
  return {
    kind: 'revisionLimit',
    setting,
    value: limit,
    outcome: 'warn',
    policyChoice: 'guardrails.revisionLimit: cleanup',
    message: `${message}; old revisions are retired per cleanup.keepRevisions (${policy.cleanup.keepRevisions}) first`,
    fix: 'raise maxInactiveRevisions to keep them',
    adjustment: {
      when: 'beforeDeploy',
      note: `retire active revisions beyond keepRevisions ${policy.cleanup.keepRevisions}`,
    },
    details: { inactive: inactive.length, retiring, purged },
  };
}

function suffixCollision({
  policy,
  snapshot,
  image,
  revisionSuffix,
}: GuardrailInput): GuardrailFinding | undefined {
  const name = `${policy.app.name}--${revisionSuffix}`;
  const problem = revisionNameProblem(policy.app.name, revisionSuffix);
  if (problem) {
    return {
      kind: 'suffixCollision',
      setting: 'template.revisionSuffix',
      value: revisionSuffix,
      outcome: 'refuse',
      message: problem,
      fix: 'use a shorter app name or tag',
    };
  }
  const existing = snapshot.revisions.find((r) => r.name === name);
  if (!existing) return undefined;
  if (existing.image === image) {
    return {
      kind: 'suffixCollision',
      setting: 'template.revisionSuffix',
      value: revisionSuffix,
      outcome: 'info',
      message: `revision ${name} already runs ${image}: the rollout reuses it (activating it if inactive)`,
      fix: 'none needed',
    };
  }
  return {
    kind: 'suffixCollision',
    setting: 'template.revisionSuffix',
    value: revisionSuffix,
    outcome: 'refuse',
    message: `revision ${name} already exists with image ${existing.image ?? 'unknown'}, so it cannot run ${image}`,
    fix: 'push the image under a new tag or digest (the suffix derives from them)',
    details: { revision: name, existingImage: existing.image },
  };
}
