import {
  releaseActionEntry,
  releaseAdmissionEntry,
  releaseFinishedEntry,
  releaseGatherEntry,
  validAuditEntry,
} from '../../src/domain/audit';
import { releaseKeyOf } from '../../src/domain/release/schema';

const actor = { kind: 'key' as const, name: 'function key #12345678' };
const facts = {
  id: 'a_1',
  at: '2026-03-02T09:00:00.000Z',
  release: 'shop',
  actor,
  source: 'http' as const,
  images: { api: 'acr.io/shop/api:v2', worker: 'acr.io/shop/worker:v2' },
};

describe('release audit entries', () => {
  it('every admission outcome fits the audit model, under the release app and with the release id', () => {
    const outcomes = [
      { kind: 'started', releaseId: 'shop-1' },
      { kind: 'duplicate', releaseId: 'shop-1' },
      { kind: 'queued', releaseId: 'shop-2', behind: 'shop-1' },
      { kind: 'superseding', releaseId: 'shop-2', superseded: 'shop-1' },
      { kind: 'rejected', releaseId: 'shop-2', running: 'shop-1', detail: 'shop-1 runs' },
      { kind: 'invalid', detail: 'images.worker: missing' },
    ] as const;
    const kinds = outcomes.map((o) => {
      const entry = validAuditEntry(releaseAdmissionEntry(facts, o));
      expect(entry.app).toEqual({ key: 'release:shop', name: 'shop' });
      if (o.kind !== 'invalid') expect(entry.rolloutId).toBe(o.releaseId);
      return entry.kind;
    });
    expect(kinds).toEqual([
      'release.started',
      'release.deduplicated',
      'release.queued',
      'release.superseded',
      'release.rejected',
      'release.invalid',
    ]);
    expect(releaseAdmissionEntry(facts, outcomes[0]).summary).toContain('api=acr.io/shop/api:v2');
  });

  it('gathering, actions and the finish fit the model', () => {
    const g = { id: 'a_2', at: facts.at, release: 'shop', key: 'v1.2', actor };
    expect(
      validAuditEntry(
        releaseGatherEntry(g, { kind: 'gathered', app: 'api', image: 'acr.io/shop/api:v1.2.0' }),
      ).kind,
    ).toBe('release.gathered');
    const incomplete = validAuditEntry(
      releaseGatherEntry(g, {
        kind: 'incomplete',
        missing: ['worker'],
        images: { api: 'acr.io/shop/api:v1.2.0' },
      }),
    );
    expect(incomplete.kind).toBe('release.gatherIncomplete');
    expect(incomplete.summary).toContain('no image for worker');
    const action = validAuditEntry(
      releaseActionEntry(
        { id: 'a_3', at: facts.at, release: 'shop', releaseId: 'shop-1', actor, reason: 'bad' },
        'abort',
      ),
    );
    expect(action).toMatchObject({
      kind: 'release.aborted',
      rolloutId: 'shop-1',
      details: { reason: 'bad' },
    });
    const finished = validAuditEntry(
      releaseFinishedEntry(
        { release: 'shop', releaseId: 'shop-1', at: facts.at },
        'RolledBack',
        'worker failed',
      ),
    );
    expect(finished).toMatchObject({ kind: 'release.finished', outcome: 'RolledBack' });
    // The same finish has the same id: recorded once however often it is retried.
    expect(
      releaseFinishedEntry({ release: 'shop', releaseId: 'shop-1', at: facts.at }, 'RolledBack').id,
    ).toBe(finished.id);
  });
});

describe('gathering key of a tag', () => {
  it('is capture group 1 of tagKey, or the whole tag without tagKey', () => {
    expect(releaseKeyOf('v1.2.3', '^(v\\d+\\.\\d+)\\.')).toBe('v1.2');
    expect(releaseKeyOf('v1.2.3', undefined)).toBe('v1.2.3');
  });

  it('is undefined for a tag that does not match: such a push is rolled out alone', () => {
    expect(releaseKeyOf('hotfix-7', '^(v\\d+\\.\\d+)\\.')).toBeUndefined();
  });
});
