import { isoDurationMs } from '../../local/monitor-emulator/duration';
import { labelProblem, parseImage, revisionNameProblem } from '../../local/containerapps-emulator/rules';
import { parseImageReference, revisionSuffixFor } from '../../src/domain/revisionSuffix';

describe("the emulator's own ACA rules (written from ACA's documentation)", () => {
  it.each([
    ['web', 'v2', undefined],
    ['web', 'gl-v2-1a2b3c4d', undefined],
    ['web', 'a', undefined],
    ['web', '2-bad', 'does not start with a letter'],
    ['web', 'V2', 'holds characters other than a-z, 0-9 and -'],
    ['web', 'v2.1', 'holds characters other than a-z, 0-9 and -'],
    ['web', 'v2-', 'does not end with a letter or digit'],
    ['web', 'v--2', "holds '--'"],
    ['web', '', 'is empty'],
    ['a'.repeat(32), 'b'.repeat(20), undefined],
    ['a'.repeat(32), 'b'.repeat(21), 'must not be more than a combined 54 characters'],
  ])('app %s, suffix %s: %s', (app, suffix, problem) => {
    const found = revisionNameProblem(app, suffix);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });

  it('reads labels like suffixes', () => {
    expect(labelProblem('green')).toBeUndefined();
    expect(labelProblem('blue-2')).toBeUndefined();
    expect(labelProblem('Green')).toContain('must be lowercase letters');
    expect(labelProblem('a--b')).toContain('must be lowercase letters');
    expect(labelProblem('9a')).toContain('starting with a letter');
  });

  const digest = `sha256:${'ab'.repeat(32)}`;
  it.each([
    ['contoso.azurecr.io/shop/web:v2', { registry: 'contoso.azurecr.io', repository: 'shop/web', tag: 'v2' }],
    ['localhost:5000/web:1.0', { registry: 'localhost:5000', repository: 'web', tag: '1.0' }],
    ['nginx', { repository: 'nginx' }],
    ['library/nginx:1.27-alpine', { repository: 'library/nginx', tag: '1.27-alpine' }],
    [`contoso.azurecr.io/web@${digest}`, { registry: 'contoso.azurecr.io', repository: 'web', digest }],
    [
      `contoso.azurecr.io/web:v2@${digest}`,
      { registry: 'contoso.azurecr.io', repository: 'web', tag: 'v2', digest },
    ],
    [
      'contoso.azurecr.io/my_app__x/web-api:V2_b',
      { registry: 'contoso.azurecr.io', repository: 'my_app__x/web-api', tag: 'V2_b' },
    ],
  ])('accepts the image %s', (image, parsed) => {
    expect(parseImage(image)).toEqual(parsed);
  });

  it.each([
    'Contoso.azurecr.io/Web:v2',
    'contoso.azurecr.io/web:',
    'contoso.azurecr.io/web:-v2',
    `contoso.azurecr.io/web:${'x'.repeat(129)}`,
    'contoso.azurecr.io/web@sha256:xyz',
    'contoso.azurecr.io//web',
    'contoso.azurecr.io/web-/x',
    '',
  ])('refuses the image %j', (image) => {
    expect(parseImage(image)).toBeUndefined();
  });
});

// Greenlight's own rules, checked against the emulator's: a wrong rule in src/ fails here.
describe("Greenlight's naming agrees with ACA's rules", () => {
  const longestApp = 'a'.repeat(32);
  const images = [
    'contoso.azurecr.io/shop/web:v2',
    'contoso.azurecr.io/web:V2.1_RC-final',
    'contoso.azurecr.io/web:2024.12.01',
    'contoso.azurecr.io/web:_.-_',
    `contoso.azurecr.io/web:${'Long-Tag.'.repeat(14)}x`,
    `contoso.azurecr.io/web@sha256:${'cd'.repeat(32)}`,
    'localhost:5000/team/web:latest',
  ];
  it.each(images)(
    'the revision suffix Greenlight picks for %s is one ACA accepts, for any app name',
    (image) => {
      for (const app of ['w', 'web', longestApp]) {
        expect(revisionNameProblem(app, revisionSuffixFor(image))).toBeUndefined();
      }
    },
  );

  it.each([...images, 'nginx', 'Contoso.azurecr.io/Web:v2', 'contoso.azurecr.io/web:', 'web@sha256:xyz'])(
    'Greenlight reads %j as an image exactly when ACA does',
    (image) => {
      expect(parseImageReference(image) !== undefined).toBe(parseImage(image) !== undefined);
    },
  );
});

describe("the monitoring emulators' ISO 8601 durations (timespan, interval)", () => {
  it.each([
    ['PT1M', 60_000],
    ['PT1H', 3_600_000],
    ['P1D', 86_400_000],
    ['P1W', 604_800_000],
    ['P1DT2H3M4.5S', 93_784_500],
    ['pt30s', 30_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(isoDurationMs(text)).toBe(ms);
  });

  it.each(['P', 'PT', 'P1Y', 'P1M', 'PT1.5M', 'PT1S1M', '1h', 'P1DT', ''])('refuses %j', (text) => {
    expect(isoDurationMs(text)).toBeUndefined();
  });
});
