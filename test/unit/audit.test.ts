import { auditActivities } from '../../src/activities/audit';
import {
  admissionEntry,
  auditId,
  auditLogLine,
  auditLogPrefix,
  decodeAuditCursor,
  encodeAuditCursor,
  InMemoryAuditLog,
  newestFirst,
  rolloutAuditEntry,
  validAuditEntry,
  type AuditEntry,
  type TriggerFacts,
} from '../../src/domain/audit';
import { auditApp } from '../../src/domain/audit/entry';
import type { RolloutPorts } from '../../src/domain/ports';

const ref = { subscriptionId: 'Sub-1', resourceGroup: 'RG', name: 'web' };
const app = auditApp(ref);
const at = '2026-03-02T09:00:00.000Z';
const trigger: TriggerFacts = {
  id: auditId('admission', 'inv-1'),
  at,
  app,
  actor: { kind: 'key', name: 'function key #0a1b2c3d' },
  source: 'http',
  image: 'acr.azurecr.io/web:v2',
};

describe('audit entries', () => {
  it('names the app by key and name, and ids are deterministic per action', () => {
    expect(app).toEqual({ key: 'sub-1/rg/web', name: 'web' });
    expect(auditId('admission', 'inv-1')).toBe(auditId('admission', 'inv-1'));
    expect(auditId('admission', 'inv-1')).not.toBe(auditId('admission', 'inv-2'));
    // Parts are separated: ('a', 'bc') is not ('ab', 'c').
    expect(auditId('a', 'bc')).not.toBe(auditId('ab', 'c'));
    expect(auditId('x')).toMatch(/^a_[A-Za-z0-9_-]{32}$/);
  });

  it('maps every admission outcome to its kind, with what an operator asks next', () => {
    const kinds = [
      admissionEntry(trigger, { kind: 'started', rolloutId: 'web-1' }),
      admissionEntry(trigger, { kind: 'duplicate', rolloutId: 'web-1' }),
      admissionEntry(trigger, { kind: 'superseding', rolloutId: 'web-2', superseded: 'web-1', dropped: [] }),
      admissionEntry(trigger, { kind: 'queued', rolloutId: 'web-3', behind: 'web-2' }),
      admissionEntry(trigger, { kind: 'rejected', rolloutId: 'web-4', running: 'web-2' }),
      admissionEntry(trigger, { kind: 'refused', rule: 'allowedImages', detail: 'tag v2 is not allowed' }),
      admissionEntry({ ...trigger, app: undefined }, { kind: 'invalid', detail: 'app: required' }),
    ].map((e) => validAuditEntry(e));
    expect(kinds.map((e) => e.kind)).toEqual([
      'admission.started',
      'admission.deduplicated',
      'admission.superseded',
      'admission.queued',
      'admission.rejected',
      'admission.rejected',
      'admission.invalid',
    ]);
    expect(kinds[2]!.details).toMatchObject({ superseded: 'web-1' });
    expect(kinds[4]!.details).toMatchObject({ reason: 'concurrency', running: 'web-2' });
    expect(kinds[5]!.details).toMatchObject({ reason: 'notAllowed', rule: 'allowedImages' });
    expect(kinds[6]!.app).toEqual({ key: '-', name: '(unknown app)' });
    expect(kinds[0]!.summary).toBe('function key #0a1b2c3d started rollout web-1 of acr.azurecr.io/web:v2');
  });

  it('builds the orchestration entries from facts, with ids from rollout, kind and step', () => {
    const facts = { rolloutId: 'web-1', app: ref, at, step: 'traffic:1' };
    const traffic = rolloutAuditEntry(
      {
        ...facts,
        kind: 'traffic.written',
        before: [{ revisionName: 'web--blue', weight: 100, label: 'blue' }],
        after: [
          { revisionName: 'web--blue', weight: 50, label: 'blue' },
          { revisionName: 'web--green', weight: 50, label: 'green' },
        ],
      },
      app,
    );
    expect(validAuditEntry(traffic)).toEqual(traffic);
    expect(traffic.summary).toBe(
      'traffic web--blue 100% [blue] → web--blue 50% [blue], web--green 50% [green]',
    );
    expect(traffic.actor).toEqual({ kind: 'system', name: 'greenlight' });
    const again = rolloutAuditEntry({ ...facts, kind: 'traffic.written', before: [], after: [] }, app);
    expect(again.id).toBe(traffic.id);
    const flags = rolloutAuditEntry(
      {
        ...facts,
        step: 'flip',
        kind: 'flags.written',
        before: { epoch: 3, active: 'web--blue' },
        after: { epoch: 4, active: 'web--green' },
      },
      app,
    );
    expect(flags.id).not.toBe(traffic.id);
    const comp = rolloutAuditEntry(
      { ...facts, step: 'restoreTraffic', kind: 'compensation.ran', outcome: 'failed', message: 'ARM 409' },
      app,
    );
    expect(comp).toMatchObject({
      outcome: 'failed',
      details: { step: 'restoreTraffic', message: 'ARM 409' },
    });
    const done = rolloutAuditEntry(
      { ...facts, step: 'finish', kind: 'rollout.finished', outcome: 'RolledBack' },
      app,
    );
    expect(validAuditEntry(done).kind).toBe('rollout.finished');
  });

  it('refuses entries outside the model, naming each field', () => {
    const good = admissionEntry(trigger, { kind: 'started', rolloutId: 'web-1' });
    expect(() => validAuditEntry({ ...good, kind: 'rollout.exploded' })).toThrow(/kind/);
    expect(() => validAuditEntry({ ...good, actor: { kind: 'robot', name: 'x' } })).toThrow(/actor\.kind/);
    expect(() => validAuditEntry({ ...good, id: 'has spaces' })).toThrow(/id: must be 1-120/);
    expect(() => validAuditEntry({ ...good, at: 'yesterday' })).toThrow(/^\[Internal\].*at:/);
    expect(() => validAuditEntry({ ...good, token: 'secret' })).toThrow(/token|Unrecognized/);
    expect(() => validAuditEntry({ ...good, details: { nested: { a: 1 } } })).toThrow(/details/);
    const traffic = rolloutAuditEntry(
      { rolloutId: 'r', app: ref, at, step: 's', kind: 'traffic.written', before: [], after: [] },
      app,
    );
    expect(() =>
      validAuditEntry({ ...traffic, after: { traffic: [{ revisionName: 'x', weight: 101 }] } }),
    ).toThrow(/after\.traffic\.0\.weight/);
  });

  it('writes one flat JSON log line per entry under the audit prefix', () => {
    const e = rolloutAuditEntry(
      {
        rolloutId: 'web-1',
        app: ref,
        at,
        step: 'flip',
        kind: 'flags.written',
        before: { epoch: 3, active: 'web--blue' },
        after: { epoch: 4, active: 'web--green' },
      },
      app,
    );
    const line = auditLogLine(e);
    expect(line.startsWith(`${auditLogPrefix} {`)).toBe(true);
    expect(line).not.toContain('\n');
    const fields = JSON.parse(line.slice(auditLogPrefix.length + 1)) as Record<string, unknown>;
    expect(fields).toMatchObject({
      id: e.id,
      kind: 'flags.written',
      appKey: 'sub-1/rg/web',
      appName: 'web',
      rolloutId: 'web-1',
      actorKind: 'system',
      actorName: 'greenlight',
      detail_step: 'flip',
    });
    expect(JSON.parse(fields.after as string)).toEqual({ epoch: 4, active: 'web--green' });
    // Flat: every field a scalar, so a log query projects it without nesting.
    expect(Object.values(fields).filter((v) => v !== null && typeof v === 'object')).toEqual([]);
  });
});

describe('audit cursors', () => {
  it('round-trip, and anything else is refused', () => {
    const c = { position: '1700000000000-3', app: 'sub/rg/web' };
    expect(decodeAuditCursor(encodeAuditCursor(c))).toEqual(c);
    for (const bad of ['', 'not base64!', Buffer.from('x y').toString('base64url'), 'a'.repeat(700)])
      expect(decodeAuditCursor(bad)).toBeUndefined();
  });

  it('order newest first by position (numerically), then app', () => {
    const sorted = [
      { position: '9-0', app: 'a' },
      { position: '10-0', app: 'a' },
      { position: '10-0', app: 'b' },
      { position: '10-1', app: 'a' },
    ].sort(newestFirst);
    expect(sorted).toEqual([
      { position: '10-1', app: 'a' },
      { position: '10-0', app: 'b' },
      { position: '10-0', app: 'a' },
      { position: '9-0', app: 'a' },
    ]);
  });
});

describe('in-memory audit log', () => {
  const entry = (n: number, rolloutId = 'web-1', a = app): AuditEntry =>
    admissionEntry({ ...trigger, id: auditId('t', n, a.key), app: a }, { kind: 'started', rolloutId });

  it('appends an id once, keeps the newest per app, pages newest first', async () => {
    let now = 1000;
    const log = new InMemoryAuditLog({ maxEntriesPerApp: 5, now: () => now++ });
    expect(await log.append(entry(1))).toBe(true);
    expect(await log.append(entry(1))).toBe(false);
    for (let i = 2; i <= 8; i++) await log.append(entry(i, i % 2 ? 'web-odd' : 'web-even'));
    const all = await log.query({ limit: 100 });
    expect(all.entries.map((e) => e.id)).toEqual([8, 7, 6, 5, 4].map((n) => auditId('t', n, app.key)));
    expect(all.next).toBeUndefined();
    const first = await log.query({ limit: 2 });
    const second = await log.query({ limit: 2, cursor: first.next });
    const third = await log.query({ limit: 2, cursor: second.next });
    expect([...first.entries, ...second.entries, ...third.entries].map((e) => e.id)).toEqual(
      all.entries.map((e) => e.id),
    );
    expect(third.next).toBeUndefined();
    expect((await log.query({ limit: 10, rolloutId: 'web-odd' })).entries).toHaveLength(2);
  });
});

describe('appendAudit activity', () => {
  it('records a write once, however often it is retried, and logs it once', async () => {
    const log = new InMemoryAuditLog();
    const { appendAudit } = auditActivities({ audit: log } as unknown as RolloutPorts);
    const lines: string[] = [];
    const invocation = { startRollout: async () => undefined, log: (l: string) => void lines.push(l) };
    const record = {
      rolloutId: 'web-1',
      app: ref,
      at,
      step: 'rollback:traffic',
      kind: 'compensation.ran' as const,
      outcome: 'succeeded' as const,
    };
    const first = await appendAudit(record, invocation);
    const retry = await appendAudit(record, invocation);
    expect(first).toEqual({ id: retry.id, appended: true });
    expect(retry.appended).toBe(false);
    expect(lines).toHaveLength(1);
    const [entry] = (await log.query({ limit: 10 })).entries;
    expect(entry).toMatchObject({
      kind: 'compensation.ran',
      app: { key: 'sub-1/rg/web', name: 'web' },
      outcome: 'succeeded',
      details: { step: 'rollback:traffic' },
    });
    // Another step of the same rollout is another entry.
    expect((await appendAudit({ ...record, step: 'rollback:labels' }, invocation)).appended).toBe(true);
  });
});
