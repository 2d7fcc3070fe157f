import {
  isFullyQualifiedImage,
  maxRevisionNameLength,
  maxRevisionSuffixLength,
  parseImageReference,
  revisionNameProblem,
  revisionSuffixFor,
} from '../../../src/domain/revisionSuffix';
import { errorCode } from '../../../src/domain/errors';

const digest = `sha256:${'ab'.repeat(32)}`;
const longestApp = 'a'.repeat(32);

describe('revisionSuffixFor', () => {
  it('is deterministic and readable', () => {
    const s = revisionSuffixFor('greenlight.azurecr.io/web:v1.2.3');
    expect(s).toMatch(/^gl-v1-2-3-[0-9a-f]{8}$/);
    expect(revisionSuffixFor('greenlight.azurecr.io/web:v1.2.3')).toBe(s);
  });

  it('tells images apart by the hash, even when the tag slug is the same', () => {
    expect(revisionSuffixFor('a.azurecr.io/web:v1')).not.toBe(revisionSuffixFor('b.azurecr.io/web:v1'));
    expect(revisionSuffixFor('a.azurecr.io/web:V1')).not.toBe(revisionSuffixFor('a.azurecr.io/web:v1'));
  });

  it('hashes the digest when given, so the same digest under the same tag gives the same suffix', () => {
    const a = revisionSuffixFor('a.azurecr.io/web:v1', digest);
    expect(revisionSuffixFor('b.azurecr.io/mirror/web:v1', digest)).toBe(a);
    expect(revisionSuffixFor(`a.azurecr.io/web@${digest}`)).toMatch(/^gl-[0-9a-f]{8}$/);
  });

  it.each([
    'greenlight.azurecr.io/web:v1',
    'greenlight.azurecr.io/team/web:2026-11-24_build.1234-release-candidate',
    'localhost:5000/web:1.0',
    'greenlight.azurecr.io/web:_-.-_',
    'greenlight.azurecr.io/web:CRASH__unhealthy',
    `greenlight.azurecr.io/web@${digest}`,
    'nginx',
  ])('is valid for ACA with the longest app name: %s', (image) => {
    const suffix = revisionSuffixFor(image);
    expect(suffix.length).toBeLessThanOrEqual(maxRevisionSuffixLength);
    expect(suffix).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/);
    expect(suffix).not.toContain('--');
    expect(revisionNameProblem(longestApp, suffix)).toBeUndefined();
    expect(`${longestApp}--${suffix}`.length).toBeLessThanOrEqual(maxRevisionNameLength);
  });

  it('rejects what is not an image reference', () => {
    expect(() => revisionSuffixFor('Not An Image')).toThrow("got 'Not An Image'");
    let thrown: unknown;
    try {
      revisionSuffixFor('');
    } catch (e) {
      thrown = e;
    }
    expect(errorCode(thrown)).toBe('InvalidRequest');
  });
});

describe('revision names and image references', () => {
  it('explains invalid suffixes and names that are too long', () => {
    expect(revisionNameProblem('web', '1abc')).toContain('start with a letter');
    expect(revisionNameProblem('web', 'a--b')).toContain('single hyphens');
    expect(revisionNameProblem('web', 'abc-')).toContain('end with a letter or digit');
    expect(revisionNameProblem(longestApp, 'a'.repeat(21))).toContain(
      'is 55 characters; ACA allows at most 54',
    );
    expect(revisionNameProblem('web', 'v2')).toBeUndefined();
  });

  it('parses references the way registries do', () => {
    expect(parseImageReference('greenlight.azurecr.io/team/web:v1')).toEqual({
      registry: 'greenlight.azurecr.io',
      repository: 'team/web',
      tag: 'v1',
      digest: undefined,
    });
    expect(parseImageReference('library/nginx:1.25')).toMatchObject({
      registry: undefined,
      repository: 'library/nginx',
    });
    expect(parseImageReference('Web:v1')).toBeUndefined();
    expect(isFullyQualifiedImage('greenlight.azurecr.io/web:v1')).toBe(true);
    expect(isFullyQualifiedImage(`greenlight.azurecr.io/web@${digest}`)).toBe(true);
    expect(isFullyQualifiedImage('greenlight.azurecr.io/web')).toBe(false);
    expect(isFullyQualifiedImage('web:v1')).toBe(false);
  });
});
