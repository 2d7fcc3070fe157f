import { ArmHttpError } from './armError';

/**
 * Stable `api-version`s of Microsoft.App shipped since the first GA (2022-03-01), for reference and for
 * error messages. ARM itself rejects unknown dates; the emulator accepts any well-formed stable date from
 * 2022-03-01 on, so operators' tools pinned to an older or newer stable version keep working.
 */
export const knownStableApiVersions = [
  '2022-03-01',
  '2022-10-01',
  '2023-05-01',
  '2023-08-01',
  '2024-03-01',
  '2025-01-01',
  '2025-07-01',
  '2026-01-01',
  '2026-07-01',
] as const;

const firstStable = '2022-03-01';
const stablePattern = /^(\d{4})-(\d{2})-(\d{2})$/;

function isRealDate(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/** Throws the ARM error for a missing, malformed, preview or too old `api-version`. */
export function checkApiVersion(apiVersion: string | undefined): void {
  if (apiVersion === undefined || apiVersion === '') {
    throw new ArmHttpError(
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
  }
  const m = stablePattern.exec(apiVersion);
  const ok = m !== null && isRealDate(Number(m[1]), Number(m[2]), Number(m[3])) && apiVersion >= firstStable;
  if (!ok) {
    const why = apiVersion.toLowerCase().includes('preview')
      ? 'preview api-versions are not served by this emulator'
      : `stable api-versions are dates from ${firstStable} on (YYYY-MM-DD)`;
    throw new ArmHttpError(
      400,
      'InvalidApiVersionParameter',
      `The api-version '${apiVersion}' is invalid: ${why}. The supported versions are '${knownStableApiVersions.join(',')}' and any later stable date.`,
    );
  }
}
