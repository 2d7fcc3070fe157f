/**
 * ISO 8601 durations as the Azure Monitor query APIs take them (`timespan=PT1H`, `interval=PT1M`, `P1D`),
 * read here rather than with Greenlight's own parser, so a query Greenlight builds is checked against the
 * API's format and not against itself. Days, hours, minutes and (fractional) seconds, and weeks; years and
 * months have no fixed length and are refused.
 */
const units: Record<string, number> = { W: 604_800_000, D: 86_400_000, H: 3_600_000, M: 60_000, S: 1000 };

export function isoDurationMs(text: string): number | undefined {
  const upper = text.trim().toUpperCase();
  if (!upper.startsWith('P') || upper.length < 3 || upper.endsWith('T')) return undefined;
  const [datePart = '', timePart, ...extra] = upper.slice(1).split('T');
  if (extra.length > 0) return undefined;
  let total = 0;
  const read = (part: string, allowed: string[]): boolean => {
    let rest = part;
    let order = -1;
    while (rest.length > 0) {
      const m = /^(\d+(?:[.,]\d+)?)([A-Z])/.exec(rest);
      if (!m) return false;
      const [whole, value = '', unit = ''] = m;
      const at = allowed.indexOf(unit);
      // Units in order, each once; only seconds may be fractional.
      if (at <= order || (value.includes('.') || value.includes(',') ? unit !== 'S' : false)) return false;
      order = at;
      total += Number(value.replace(',', '.')) * (units[unit] ?? 0);
      rest = rest.slice(whole.length);
    }
    return true;
  };
  if (!read(datePart, ['W', 'D'])) return undefined;
  if (timePart !== undefined && (timePart === '' || !read(timePart, ['H', 'M', 'S']))) return undefined;
  return Math.round(total);
}
