import picomatch from 'picomatch';
import { z } from 'zod';
import { formatDuration, parseDuration } from '../duration';
import { changeControlField } from '../changeControl/global';
import { guardrailsSchema } from '../guardrails/settings';
import { conditionUses, parseCondition } from '../gates/condition';
import { queryIssues } from '../gates/query';
import type { GateQuery } from '../gates/types';
import { notificationsSchema } from '../notify/channels';

/**
 * The rollout policy an operator writes per app. Objects are strict so a misspelt field is an error
 * at load, not a silently ignored setting; durations are ISO 8601 and become milliseconds here.
 */
/** An ISO 8601 duration, read into milliseconds (release policies use it too). */
export const duration = (example: string) =>
  z.string({ message: `must be an ISO 8601 duration such as ${example}` }).transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `'${text}' is not an ISO 8601 duration; write weeks, days, hours, minutes or seconds, e.g. ${example}`,
      });
      return z.NEVER;
    }
    return ms;
  });

/** A duration that must be longer than zero: a zero poll interval would poll back to back. */
export const positiveDuration = (example: string) =>
  duration(example).refine((ms) => ms > 0, { message: `must be longer than zero, e.g. ${example}` });

const glob = z
  .string()
  .min(1, 'must be a non-empty glob such as web/* or v*')
  .refine(
    (g) => {
      try {
        picomatch.makeRe(g.replace(/^!/, ''));
        return true;
      } catch {
        return false;
      }
    },
    { message: 'is not a valid glob' },
  );

const armName = (what: string) =>
  z
    .string({ message: `${what} is required` })
    .min(1, `${what} must not be empty`)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._()-]*$/, `${what} may hold letters, digits, '.', '_', '-', '(' and ')'`);

const appSchema = z.strictObject({
  subscriptionId: z
    .string({ message: 'subscriptionId is required' })
    .regex(/^[0-9a-fA-F-]{36}$/, 'must be a subscription GUID such as 00000000-0000-0000-0000-000000000000'),
  resourceGroup: armName('resourceGroup'),
  name: z
    .string({ message: 'name is required' })
    .regex(
      /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/,
      'must be a Container App name: 2-32 lower-case letters, digits and dashes, starting with a letter',
    ),
  /** Container whose image is replaced; defaults to the template's first container. */
  container: z.string().min(1).optional(),
});

const triggerSchema = z.strictObject({
  /** ACR login server, e.g. contoso.azurecr.io; any registry when omitted. */
  registry: z.string().min(1).optional(),
  repository: glob,
  /** Tag globs; a leading `!` excludes. Defaults to every tag. */
  tags: z.array(glob).min(1, 'list at least one tag glob, or omit tags to match every tag').default(['*']),
});

const trafficStrategy = z.strictObject({
  type: z.literal('traffic'),
  steps: z
    .array(
      z
        .number({ message: 'each step must be a number' })
        .int('each step must be a whole percentage')
        .min(1, 'each step must be at least 1')
        .max(100, 'each step must be at most 100'),
    )
    .min(1, 'list at least one step; [100] promotes all at once')
    .default([100])
    .refine((s) => s.every((v, i) => i === 0 || v > (s[i - 1] ?? 0)), {
      message: 'steps must increase, e.g. [10, 50, 100]',
    })
    .refine((s) => s[s.length - 1] === 100, { message: 'the last step must be 100' }),
  stepPause: duration('PT5M').prefault('PT0S'),
  recheckSmokeEachStep: z.boolean().default(true),
});

const redisBinding = z.strictObject({
  /** App setting (on the workload) that holds the connection string; never the secret itself. */
  urlSetting: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'),
});

const flagStrategy = z.strictObject({
  type: z.literal('flag'),
  bindings: z.strictObject({ prod: redisBinding, temp: redisBinding }),
  flags: z
    .strictObject({
      mode: z.string().min(1).default('RUN_MODE'),
      processing: z.string().min(1).default('PROCESSING_ENABLED'),
    })
    .prefault({}),
  /** How long green may take to hold the production lease after the flip. */
  flipDeadline: positiveDuration('PT2M').prefault('PT2M'),
  /** Key prefix of the control plane and mock outputs, shared with the workload agent. */
  keyPrefix: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'must be 1-64 letters, digits or : _ . - (e.g. greenlight:)')
    .default('greenlight:'),
  /** The workload agents' production lease lifetime (their `leaseTtlMs`): how long a crashed holder keeps it. */
  leaseTtl: positiveDuration('PT5S').prefault('PT5S'),
  /** What the watch checks of production besides the lease: this log's checkpoint keeps up with the source. */
  progress: z
    .strictObject({
      log: z.string().min(1).default('sink'),
      /** How far the log may stay behind the source position the agents publish for a whole check interval. */
      maxLagFrames: z.number().int().min(0).default(1000),
    })
    .prefault({}),
  /** After Succeeded, while blue is still warm (until cleanup.deactivateAfter): a stalled or leaseless active revision is flipped back. */
  guard: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
});

const smokeCheck = z.strictObject({
  name: z.string().min(1).optional(),
  path: z.string().regex(/^\//, "must start with '/', e.g. /healthz"),
  method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
  expectStatus: z
    .union([z.number().int().min(100).max(599), z.array(z.number().int().min(100).max(599)).min(1)], {
      message: 'must be an HTTP status (e.g. 200) or a list of them',
    })
    .default(200)
    .transform((v) => (Array.isArray(v) ? v : [v])),
  bodyContains: z.string().min(1).optional(),
  latencyBudget: duration('PT0.5S').prefault('PT2S'),
  retries: z.number().int().min(0).max(10).default(2),
});

const mockValidation = z.strictObject({
  deadline: positiveDuration('PT5M').prefault('PT5M'),
  /** Green must write at least this many records to the temporary Redis. */
  minRecords: z.number().int().min(1).default(10),
  /** Fields every record green writes must carry. */
  requiredFields: z.array(z.string().min(1)).default([]),
  /** Downstream consumer group whose lag must drain in mock mode. */
  consumerGroup: z.string().min(1).optional(),
  /** Largest backlog (undelivered + unacknowledged) of that group that still counts as keeping up. */
  maxLag: z.number().int().min(0).default(20),
  maxErrors: z.number().int().min(0).default(0),
  /** Field of each record carrying the source's sequence id (e.g. frameId): the ids must then be complete. */
  sequenceField: z.string().min(1).optional(),
  /** Longest run of missing sequence ids tolerated (0: any hole fails). */
  maxGap: z.number().int().min(0).default(0),
});

const validationSchema = z.strictObject({
  readiness: z
    .strictObject({
      timeout: positiveDuration('PT10M').prefault('PT10M'),
      pollInterval: positiveDuration('PT10S').prefault('PT10S'),
    })
    .prefault({}),
  smoke: z.array(smokeCheck).default([]),
  dependencies: z
    .strictObject({
      path: z.string().regex(/^\//, "must start with '/'"),
      expectStatus: z
        .union([z.number().int(), z.array(z.number().int()).min(1)])
        .default(200)
        .transform((v) => (Array.isArray(v) ? v : [v])),
    })
    .optional(),
  mock: mockValidation.optional(),
});

export const gateProviders = ['azureMonitorMetrics', 'logAnalytics', 'prometheus', 'httpJson'] as const;

/** A condition over a measurement, checked here so a typo stops the policy, not a rollout. */
const condition = (example: string) =>
  z.string({ message: `must be a condition such as \`${example}\`` }).superRefine((text, ctx) => {
    const parsed = parseCondition(text);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
  });

const gateSchema = z
  .strictObject({
    name: z.string().min(1),
    provider: z.enum(gateProviders, { message: `must be one of ${gateProviders.join(', ')}` }),
    query: z.string().min(1, 'must hold the query (metric name, KQL, PromQL or URL)'),
    aggregation: z
      .enum(['Total', 'Average', 'Maximum', 'Minimum', 'Count'], {
        message: 'must be Total, Average, Maximum, Minimum or Count',
      })
      .optional(),
    filter: z.string().min(1, "must be an OData filter such as statusCodeCategory eq '5xx'").optional(),
    /** `''` divides by the unfiltered value. */
    ratioTo: z.string().optional(),
    workspaceId: z.string().min(1).optional(),
    address: z.string().min(1).optional(),
    jsonPath: z.string().min(1).optional(),
    sampleSize: z.string().min(1).optional(),
    interval: positiveDuration('PT1M').prefault('PT1M'),
    /** After a provider error, the next try comes this soon, not a whole interval later (Argo: 10 s). */
    errorInterval: positiveDuration('PT10S')
      .refine((ms) => ms <= 3_600_000, { message: 'must be at most PT1H' })
      .prefault('PT10S'),
    /** Before a run's first measurement, so green can warm up. */
    initialDelay: duration('PT30S').prefault('PT0S'),
    /** How long before now the window ends (data not yet ingested); default per provider (see `defaultLagMs`). */
    lag: duration('PT2M')
      .refine((ms) => ms <= 3_600_000, { message: 'must be at most PT1H' })
      .optional(),
    count: z.number().int('must be a whole number').min(1, 'must be at least 1').default(1),
    successCondition: condition('result <= 0.01'),
    failureCondition: condition('result > 0.05').optional(),
    /** -1 turns the limit off, for a gate judged by consecutiveSuccessLimit alone (as in Argo Rollouts). */
    failureLimit: z
      .number()
      .int()
      .min(-1, 'must be at least 0, or -1 to turn it off (with consecutiveSuccessLimit)')
      .default(0),
    inconclusiveLimit: z.number().int().min(0).default(0),
    consecutiveErrorLimit: z.number().int().min(0).default(4),
    /** Successes in a row that pass the run at once; 0: off. */
    consecutiveSuccessLimit: z.number().int().min(0, 'must be at least 0 (0: off)').default(0),
    minSampleSize: z.number().int().min(0).optional(),
    /** Measured and shown, never deciding: the way to trial a new query. */
    dryRun: z.boolean().default(false),
    /**
     * In the watch: whether verdicts add up over the whole watch (default, as Argo's background analysis)
     * or each run of `count` measurements is judged afresh once the previous one passed.
     */
    accumulate: z.boolean().optional(),
    /** What an inconclusive run does: fail the rollout, let it pass, or wait for a person's approval. */
    onInconclusive: z
      .enum(['fail', 'pass', 'pause'], { message: "must be 'fail', 'pass' or 'pause'" })
      .default('fail'),
    /** Default: everywhere the gate can run (see `defaultPhases`). */
    phases: z
      .array(z.enum(['prePromotion', 'eachStep', 'watch']))
      .min(1)
      .optional(),
  })
  // Runs even when other fields are wrong, so every problem is named in one pass.
  .superRefine((g, ctx) => gateProblems(g, ctx), {
    when: (payload) => typeof payload.value === 'object' && payload.value !== null,
  })
  .transform((g) => ({ ...g, phases: g.phases ?? defaultPhases(g) }));

type GatePhaseName = 'prePromotion' | 'eachStep' | 'watch';

/**
 * Where a gate runs when the policy does not say: everywhere, except the watch for a gate that compares
 * with blue (blue serves nothing after promotion), and before promotion only for one that pauses.
 */
function defaultPhases(g: {
  successCondition: string;
  failureCondition?: string;
  onInconclusive: string;
}): GatePhaseName[] {
  if (g.onInconclusive === 'pause') return ['prePromotion'];
  return comparesWithBaseline(g) ? ['prePromotion', 'eachStep'] : ['prePromotion', 'eachStep', 'watch'];
}

function comparesWithBaseline(g: { successCondition?: unknown; failureCondition?: unknown }): boolean {
  return [g.successCondition, g.failureCondition].some((text) => {
    const parsed = parseCondition(typeof text === 'string' ? text : '');
    return parsed.ok && conditionUses(parsed.condition).has('baseline');
  });
}

/**
 * Checks across a gate's fields: the query for its provider, the limits against count, and a sample
 * size source wherever one is needed. Reads the raw value, as other fields may not have parsed.
 */
function gateProblems(gate: object, ctx: z.RefinementCtx): void {
  const raw = gate as Record<string, unknown>;
  const text = (key: string) => (typeof raw[key] === 'string' ? raw[key] : undefined);
  const num = (key: string) => (typeof raw[key] === 'number' ? raw[key] : undefined);
  const provider = gateProviders.find((p) => p === raw.provider);
  const query = text('query');
  if (provider && query) {
    const optional = ['filter', 'ratioTo', 'workspaceId', 'address', 'jsonPath', 'sampleSize'] as const;
    const fields: GateQuery = { provider, query };
    for (const key of optional) if (text(key) !== undefined) fields[key] = text(key);
    // Checked like the others, so a provider that ignores it refuses it.
    if (text('aggregation') !== undefined)
      fields.aggregation = text('aggregation') as GateQuery['aggregation'];
    for (const issue of queryIssues(fields)) {
      ctx.addIssue({ code: 'custom', path: [issue.field], message: issue.message });
    }
  }
  const count = num('count');
  const failureLimit = num('failureLimit');
  const streak = num('consecutiveSuccessLimit') ?? 0;
  if (count !== undefined && count >= 1 && failureLimit !== undefined && failureLimit >= count) {
    ctx.addIssue({
      code: 'custom',
      path: ['failureLimit'],
      message: `must be less than count (${count}), or the gate could never fail`,
    });
  }
  if (failureLimit === -1 && streak <= 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['failureLimit'],
      message:
        'may be -1 (off) only with a consecutiveSuccessLimit above 0: otherwise nothing could end the run but count',
    });
  }
  if (count !== undefined && count >= 1 && streak > 0 && count < streak + Math.max(failureLimit ?? 0, 0)) {
    ctx.addIssue({
      code: 'custom',
      path: ['consecutiveSuccessLimit'],
      message: `count (${count}) must be at least failureLimit + consecutiveSuccessLimit (${Math.max(failureLimit ?? 0, 0)} + ${streak}), or the run could neither fail nor pass by them`,
    });
  }
  // After promotion blue serves nothing: a watch-phase gate could never measure its baseline.
  const phases: unknown[] = Array.isArray(raw.phases) ? raw.phases : [];
  if (comparesWithBaseline(raw) && phases.includes('watch')) {
    ctx.addIssue({
      code: 'custom',
      path: ['phases'],
      message:
        "a condition that compares with baseline cannot run in the 'watch' phase (blue serves no traffic after promotion): list the phases without 'watch', or use an absolute condition in a separate watch gate",
    });
  }
  if (raw.accumulate !== undefined && Array.isArray(raw.phases) && !phases.includes('watch')) {
    ctx.addIssue({
      code: 'custom',
      path: ['accumulate'],
      message: "applies only to a gate that runs in the 'watch' phase; add 'watch' to phases or remove it",
    });
  }
  // Pausing means asking for approval, which only happens before promotion.
  if (raw.onInconclusive === 'pause' && phases.some((p) => p !== 'prePromotion')) {
    ctx.addIssue({
      code: 'custom',
      path: ['onInconclusive'],
      message: "'pause' waits for an approval before promotion: use it only with phases: [prePromotion]",
    });
  }
  // A sample size no measurement reports would leave every measurement inconclusive.
  const usesSampleSize = ['successCondition', 'failureCondition'].some((key) => {
    const parsed = parseCondition(text(key) ?? '');
    return parsed.ok && conditionUses(parsed.condition).has('sampleSize');
  });
  if (
    (raw.minSampleSize !== undefined || usesSampleSize) &&
    provider !== undefined &&
    provider !== 'azureMonitorMetrics' &&
    raw.sampleSize === undefined
  ) {
    ctx.addIssue({
      code: 'custom',
      path: ['sampleSize'],
      message: `is required when minSampleSize or a condition uses the sample size: say where it comes from (${sampleSizeHint[provider]})`,
    });
  }
}

const sampleSizeHint: Record<(typeof gateProviders)[number], string> = {
  azureMonitorMetrics: 'the unfiltered Requests total',
  logAnalytics: 'a column of the query result, e.g. total',
  prometheus: 'a second PromQL query',
  httpJson: 'a JSON path, e.g. $.requests',
};

const approvalSchema = z.strictObject({
  required: z.boolean().default(false),
  timeout: duration('PT24H').prefault('PT24H'),
  onTimeout: z
    .enum(['rollback', 'promote'], { message: "must be 'rollback' or 'promote'" })
    .default('rollback'),
  /** Who may decide (informational on the page; enforcement is the link's secrecy and platform auth). */
  approvers: z.array(z.string().min(1)).default([]),
  /**
   * How long before the timeout the channels are reminded of an approval still open (approvalReminder).
   * Absent: a quarter of the timeout (PT6H for PT24H); PT0S: no reminder. Must be shorter than the timeout.
   */
  remindBefore: duration('PT6H').optional(),
});

export const policySchema = z
  .strictObject({
    /** Unique name; defaults to the app name. */
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes')
      .optional(),
    app: appSchema,
    trigger: triggerSchema.optional(),
    /**
     * Images an HTTP request may roll out besides those the trigger matches: globs over
     * `registry/repository:tag` (e.g. `contoso.azurecr.io/shop/*:v*`).
     */
    allowedImages: z.array(glob).optional(),
    concurrency: z
      .enum(['supersede', 'queue', 'reject'], { message: "must be 'supersede', 'queue' or 'reject'" })
      .default('supersede'),
    strategy: z.discriminatedUnion('type', [trafficStrategy, flagStrategy], {
      message: "must have type 'traffic' or 'flag'",
    }),
    validation: validationSchema.prefault({}),
    gates: z.array(gateSchema).default([]),
    approval: approvalSchema.prefault({}),
    /** Where to tell people about this app's rollouts (Teams, Slack, signed webhooks); URLs stay in app settings. */
    notifications: notificationsSchema,
    bake: duration('PT10M').prefault('PT0S'),
    watch: z
      .strictObject({
        duration: duration('PT15M').prefault('PT0S'),
        interval: duration('PT1M').prefault('PT1M'),
      })
      .prefault({}),
    cleanup: z
      .strictObject({
        deactivateAfter: duration('PT1H').prefault('PT0S'),
        /** After Succeeded, how long an undo restores the snapshot (absent: deactivateAfter); blue stays warm meanwhile. */
        undoWindow: duration('PT30M').optional(),
        /**
         * How long before the undo window closes the channels are told (undoWindowClosing). Absent: a quarter
         * of the window (PT7M30S for PT30M); PT0S: not told. Must be shorter than the window.
         */
        remindBeforeUndoCloses: duration('PT5M').optional(),
        keepRevisions: z.number().int().min(1, 'keep at least 1 previous revision').max(100).default(2),
      })
      .prefault({}),
    /** How long a rollback retries each undo through an outage (ARM, Redis) before leaving it to do by hand. */
    rollback: z
      .strictObject({
        retryFor: duration('PT1H')
          .refine((ms) => ms >= 60_000 && ms <= 7 * 86_400_000, 'must be from PT1M to P7D')
          .prefault('PT1H'),
        maxInterval: duration('PT5M')
          .refine((ms) => ms >= 1_000 && ms <= 3_600_000, 'must be from PT1S to PT1H')
          .prefault('PT5M'),
      })
      .prefault({}),
    /** Deploy windows, freezes and what a rollout does when production is closed (see domain/changeControl). */
    changeControl: changeControlField.optional(),
    /** What to do about Container Apps settings that break a blue-green silently (see domain/guardrails). */
    guardrails: guardrailsSchema,
  })
  .superRefine((p, ctx) => {
    if (p.strategy.type === 'flag' && !p.validation.mock) {
      ctx.addIssue({
        code: 'custom',
        path: ['validation', 'mock'],
        message: "is required for strategy 'flag': say what green must write to the temporary Redis",
      });
    }
    if (p.strategy.type === 'traffic' && p.validation.mock) {
      ctx.addIssue({
        code: 'custom',
        path: ['validation', 'mock'],
        message: "applies only to strategy 'flag'; remove it or switch the strategy",
      });
    }
    if (p.approval.remindBefore !== undefined && p.approval.remindBefore >= p.approval.timeout) {
      ctx.addIssue({
        code: 'custom',
        path: ['approval', 'remindBefore'],
        message: `must be shorter than approval.timeout (${formatDuration(p.approval.timeout)}), or PT0S for no reminder; got ${formatDuration(p.approval.remindBefore)}`,
      });
    }
    const undoWindow = p.cleanup.undoWindow ?? p.cleanup.deactivateAfter;
    const undoLead = p.cleanup.remindBeforeUndoCloses;
    if (undoLead !== undefined && undoLead > 0 && undoLead >= undoWindow) {
      ctx.addIssue({
        code: 'custom',
        path: ['cleanup', 'remindBeforeUndoCloses'],
        message: `must be shorter than the undo window (${formatDuration(undoWindow)}), or PT0S for no notice; got ${formatDuration(undoLead)}`,
      });
    }
    if (p.watch.duration > 0 && p.watch.interval > p.watch.duration) {
      ctx.addIssue({
        code: 'custom',
        path: ['watch', 'interval'],
        message: 'must not be longer than watch.duration',
      });
    }
    if (p.strategy.type === 'flag') {
      // A crashed producer keeps its lease until it lapses; then two checks are needed to see no progress.
      const least = p.strategy.leaseTtl + 2 * p.watch.interval;
      if (p.watch.duration < least) {
        ctx.addIssue({
          code: 'custom',
          path: ['watch', 'duration'],
          message: `must be at least strategy.leaseTtl (${formatDuration(p.strategy.leaseTtl)}) + 2 × watch.interval (${formatDuration(p.watch.interval)}) = ${formatDuration(least)} for strategy 'flag', or a producer that dies in the watch is promoted; got ${formatDuration(p.watch.duration)}; fix: lengthen watch.duration or shorten watch.interval`,
        });
      }
    }
    if (p.validation.readiness.pollInterval > p.validation.readiness.timeout) {
      ctx.addIssue({
        code: 'custom',
        path: ['validation', 'readiness', 'pollInterval'],
        message: 'must not be longer than validation.readiness.timeout',
      });
    }
    const names = new Set<string>();
    p.gates.forEach((g, i) => {
      if (names.has(g.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['gates', i, 'name'],
          message: `duplicate gate name '${g.name}'`,
        });
      }
      names.add(g.name);
    });
  });

export type PolicyDocument = z.infer<typeof policySchema>;

/** A loaded policy: the document with its name settled and where it came from. */
export type Policy = Omit<PolicyDocument, 'name'> & { name: string; source: string };
