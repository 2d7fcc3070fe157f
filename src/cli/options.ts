import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../domain/duration';

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A span as people type it: `90s`, `10m`, `1h30m`, `500ms`, a bare number of seconds, or ISO 8601
 * (`PT10M`) as in policies.
 */
export function parseSpan(value: string): number | undefined {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (/^p/i.test(text)) return parseDuration(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * (units[p[2] ?? 's'] ?? 0), 0));
}

/** A commander argument parser for spans, with a message that names the option. */
export function spanOption(name: string, min = 0) {
  return (value: string): number => {
    const ms = parseSpan(value);
    if (ms === undefined) {
      throw new InvalidArgumentError(
        `${name} must be a span such as 30s, 10m, 1h30m or PT10M; got '${value}'`,
      );
    }
    if (ms < min) throw new InvalidArgumentError(`${name} must be at least ${min} ms; got '${value}'`);
    return ms;
  };
}
