import { errorCode } from '../../src/domain/errors';
import { parseImage } from '../../src/domain/image';
import { parsePolicies, parsePolicySet } from '../../src/domain/policy';
import { buildReleaseInput, releaseKeyOf } from '../../src/domain/release';
import { memberRolloutId } from '../../src/names';

const sub = '11111111-2222-3333-4444-555555555555';

/** App policies: api and web (traffic, three steps), single (one 100 step), worker (flag). */
const apps = `
app: { subscriptionId: ${sub}, resourceGroup: rg, name: api }
trigger: { repository: shop/api }
strategy: { type: traffic, steps: [10, 50, 100] }
cleanup: { undoWindow: PT20M }
---
app: { subscriptionId: ${sub}, resourceGroup: rg, name: web }
trigger: { repository: shop/web }
strategy: { type: traffic, steps: [25, 100] }
watch: { duration: PT2M, interval: PT30S }
cleanup: { undoWindow: PT40M }
---
app: { subscriptionId: ${sub}, resourceGroup: rg, name: single }
trigger: { repository: shop/single }
strategy: { type: traffic, steps: [100] }
---
app: { subscriptionId: ${sub}, resourceGroup: rg, name: worker }
trigger: { repository: shop/worker }
strategy:
  type: flag
  bindings: { prod: { urlSetting: PROD_REDIS_URL }, temp: { urlSetting: TEMP_REDIS_URL } }
validation:
  mock: { requiredFields: [frameId] }
watch: { duration: PT5M, interval: PT30S }
cleanup: { undoWindow: PT30M }
`;

const withReleases = (...releases: string[]) => [apps, ...releases].join('\n---\n');

function problemsOf(text: string): string[] {
  try {
    parsePolicySet(text, 'p.yaml');
  } catch (e) {
    expect(errorCode(e)).toBe('InvalidPolicy');
    return (e as { details: { problems: string[] } }).details.problems;
  }
  throw new Error('policies were accepted');
}

describe('release policy', () => {
  it('loads with the app policies, defaults filled and durations in ms', () => {
    const set = parsePolicySet(
      withReleases(`kind: Release
name: shop
members: [api, web]
watch: { duration: PT10M, interval: PT1M }
gather: { tagKey: '^(v\\d+\\.\\d+)\\.' }`),
      'p.yaml',
    );
    expect(set.policies.map((p) => p.name)).toEqual(['api', 'web', 'single', 'worker']);
    expect(set.releases).toEqual([
      {
        kind: 'Release',
        name: 'shop',
        members: ['api', 'web'],
        order: 'sequence',
        approval: { required: true, timeout: 86_400_000, onTimeout: 'rollback', approvers: [] },
        bake: 0,
        watch: { duration: 600_000, interval: 60_000 },
        gather: { window: 900_000, tagKey: '^(v\\d+\\.\\d+)\\.' },
        concurrency: 'supersede',
        queue: { timeout: 86_400_000, pollInterval: 30_000 },
        source: 'p.yaml#5',
      },
    ]);
    // Existing callers see the app policies only.
    expect(parsePolicies(withReleases('kind: Release\nname: shop\nmembers: [api, web]'))).toHaveLength(4);
  });

  it('refuses an unknown member, naming the field and the app policies there are', () => {
    expect(problemsOf(withReleases('kind: Release\nname: shop\nmembers: [api, billing]'))).toEqual([
      "p.yaml#5: members[1]: no app policy is named 'billing'; app policies: api, single, web, worker",
    ]);
  });

  it('refuses a duplicate member', () => {
    expect(problemsOf(withReleases('kind: Release\nname: shop\nmembers: [api, web, api]'))).toEqual([
      "p.yaml#5: members.2: 'api' is listed twice (also members[0]); list each app once",
    ]);
  });

  it('refuses lockstep with a flag member or a traffic member with a single step', () => {
    expect(
      problemsOf(withReleases('kind: Release\nname: shop\norder: lockstep\nmembers: [api, worker, single]')),
    ).toEqual([
      expect.stringMatching(
        /^p.yaml#5: members\[1\]: 'worker' uses strategy 'flag' .* cannot move in lockstep; use order: sequence/,
      ),
      expect.stringMatching(
        /^p.yaml#5: members\[2\]: 'single' has a single traffic step \[100\], so it cannot move in lockstep/,
      ),
    ]);
    // The same members one after another are fine.
    expect(() =>
      parsePolicySet(withReleases('kind: Release\nname: shop\nmembers: [api, worker, single]')),
    ).not.toThrow();
  });

  it('refuses bad durations and other bad fields, every one listed', () => {
    const problems = problemsOf(
      withReleases(`kind: Release
name: shop
members: [api, web]
order: parallel
approval: { timeout: 1h, onTimeout: wait }
bake: soon
watch: { duration: PT1M, interval: PT5M }
gather: { window: PT0S, tagKey: 'v\\d+' }
concurrency: always
undoWindow: P1X
queue: { timeout: PT0S, pollInterval: often }
colour: blue`),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining("p.yaml#5: order: must be 'sequence' or 'lockstep'"),
        expect.stringContaining("p.yaml#5: approval.timeout: '1h' is not an ISO 8601 duration"),
        expect.stringContaining("p.yaml#5: approval.onTimeout: must be 'rollback' or 'promote'"),
        expect.stringContaining("p.yaml#5: bake: 'soon' is not an ISO 8601 duration"),
        expect.stringContaining('p.yaml#5: gather.window: must be longer than zero'),
        expect.stringContaining("p.yaml#5: concurrency: must be 'supersede', 'queue' or 'reject'"),
        expect.stringContaining("p.yaml#5: undoWindow: 'P1X' is not an ISO 8601 duration"),
        expect.stringContaining('p.yaml#5: queue.timeout: must be longer than zero'),
        expect.stringContaining("p.yaml#5: queue.pollInterval: 'often' is not an ISO 8601 duration"),
        expect.stringMatching(/p.yaml#5: \(release\): .*colour/),
      ]),
    );
    expect(problems).toHaveLength(10);
    // Cross-field checks once the fields themselves parse.
    expect(
      problemsOf(
        withReleases(`kind: Release
name: shop
members: [api, web]
watch: { duration: PT1M, interval: PT5M }
gather: { tagKey: 'v\\d+' }`),
      ),
    ).toEqual([
      'p.yaml#5: watch.interval: must not be longer than watch.duration (PT1M); got PT5M',
      "p.yaml#5: gather.tagKey: must capture the release key in group 1, e.g. '^(v\\d+\\.\\d+)\\.'; got 'v\\d+'",
    ]);
    expect(
      problemsOf(withReleases("kind: Release\nname: shop\nmembers: [api, web]\ngather: { tagKey: '(' }"))[0],
    ).toMatch(/gather.tagKey: is not a valid regular expression/);
    expect(problemsOf(withReleases('kind: Release\nname: shop\nmembers: [api]'))).toEqual([
      'p.yaml#5: members: a release needs at least 2 members; one app is an ordinary rollout',
    ]);
  });

  it('refuses two releases of the same name, or a release named like an app policy', () => {
    expect(
      problemsOf(
        withReleases(
          'kind: Release\nname: shop\nmembers: [api, web]',
          'kind: Release\nname: shop\nmembers: [api, single]',
        ),
      ),
    ).toEqual(["p.yaml#6: name: 'shop' is also the name of the release in p.yaml#5"]);
    expect(problemsOf(withReleases('kind: Release\nname: api\nmembers: [web, single]'))[0]).toMatch(
      /^p.yaml#5: name: 'api' is also the name of an app policy/,
    );
  });

  it('refuses the same members twice across releases', () => {
    expect(
      problemsOf(
        withReleases(
          'kind: Release\nname: a\nmembers: [api, web]',
          'kind: Release\nname: b\nmembers: [api, web]',
        ),
      ),
    ).toEqual(["p.yaml#6: members: the same apps as release 'a' (p.yaml#5); merge them into one release"]);
  });

  it('refuses a member shared by two releases with conflicting settings', () => {
    expect(
      problemsOf(
        withReleases(
          "kind: Release\nname: a\nmembers: [api, web]\ngather: { tagKey: '^(v\\d+)' }",
          'kind: Release\nname: b\nmembers: [api, single]\nconcurrency: queue',
        ),
      ),
    ).toEqual([
      "p.yaml#6: members: 'api' is also a member of release 'a' (p.yaml#5) with other gather.tagKey, concurrency; a shared member needs the same settings in both",
    ]);
  });

  it('refuses promotion orders that contradict each other across releases (a cycle)', () => {
    expect(
      problemsOf(
        withReleases(
          'kind: Release\nname: a\nmembers: [api, web]',
          'kind: Release\nname: b\nmembers: [web, single]',
          'kind: Release\nname: c\nmembers: [single, api]',
        ),
      ),
    ).toEqual([
      'p.yaml#5, p.yaml#6, p.yaml#7: members: promotion orders contradict each other (api → web → single → api); list shared apps in the same order in every release',
    ]);
  });

  it('gives the release key of a tag: capture group 1, or the whole tag', () => {
    expect(releaseKeyOf('v1.4.2', '^(v\\d+\\.\\d+)\\.')).toBe('v1.4');
    expect(releaseKeyOf('latest', '^(v\\d+\\.\\d+)\\.')).toBeUndefined();
    expect(releaseKeyOf('v1.4.2', undefined)).toBe('v1.4.2');
  });
});

describe('release input', () => {
  const set = parsePolicySet(
    withReleases(`kind: Release
name: shop
members: [api, web, worker]
approval: { timeout: PT1H }
bake: PT5M
watch: { duration: PT10M, interval: PT1M }
queue: { timeout: PT2H, pollInterval: PT1M }`),
  );
  const image = (ref: string) => {
    const parsed = parseImage(ref);
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.image;
  };
  const images = {
    api: image('contoso.azurecr.io/shop/api:v1.2.0'),
    web: image('contoso.azurecr.io/shop/web:v1.2.0'),
    worker: image('contoso.azurecr.io/shop/worker:v1.2.0'),
  };
  const now = new Date('2026-03-02T09:00:00.000Z');

  it('puts every member in member mode, in promotion order, watching at least the release watch', () => {
    const input = buildReleaseInput(set.releases[0]!, set.policies, images, { kind: 'http' }, now);
    expect(input.releaseId).toMatch(/^shop-[0-9a-f]{12}$/);
    expect(input.plan).toMatchObject({
      name: 'shop',
      order: 'sequence',
      members: ['api', 'web', 'worker'],
      approval: { required: true, timeoutMs: 3_600_000 },
      bakeMs: 300_000,
      watch: { durationMs: 600_000, intervalMs: 60_000 },
      // The smallest member undo window (api's PT20M).
      undoWindowMs: 1_200_000,
      queue: { timeoutMs: 7_200_000, pollIntervalMs: 60_000 },
    });
    expect(input.members.map((m) => [m.app, m.rolloutId])).toEqual([
      ['api', memberRolloutId(input.releaseId, 'api')],
      ['web', memberRolloutId(input.releaseId, 'web')],
      ['worker', memberRolloutId(input.releaseId, 'worker')],
    ]);
    const [api, web] = input.members;
    expect(api!.input.release).toEqual({
      releaseId: input.releaseId,
      parentInstanceId: input.releaseId,
      app: 'api',
    });
    expect(api!.input.rolloutId).toBe(api!.rolloutId);
    expect(api!.input.plan.watch).toEqual({ durationMs: 600_000, intervalMs: 60_000 });
    // web's own watch interval is kept; its longer undo window too.
    expect(web!.input.plan.watch).toEqual({ durationMs: 600_000, intervalMs: 30_000 });
    expect(web!.input.plan.cleanup.undoWindowMs).toBe(2_400_000);
    // The same images give the same release; another image another.
    expect(buildReleaseInput(set.releases[0]!, set.policies, images, { kind: 'http' }, now).releaseId).toBe(
      input.releaseId,
    );
    expect(
      buildReleaseInput(
        set.releases[0]!,
        set.policies,
        { ...images, web: image('contoso.azurecr.io/shop/web:v1.2.1') },
        { kind: 'http' },
        now,
      ).releaseId,
    ).not.toBe(input.releaseId);
  });

  it('refuses a missing image and one for an app outside the release, naming the field', () => {
    const { worker: _w, ...short } = images;
    try {
      buildReleaseInput(
        set.releases[0]!,
        set.policies,
        { ...short, single: images.api },
        { kind: 'http' },
        now,
      );
      throw new Error('accepted');
    } catch (e) {
      expect(errorCode(e)).toBe('InvalidRequest');
      expect((e as { details: { problems: string[] } }).details.problems).toEqual([
        "images.worker: release 'shop' needs an image for member 'worker'",
        "images.single: 'single' is not a member of release 'shop' (members: api, web, worker)",
      ]);
    }
  });
});
