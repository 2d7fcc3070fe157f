/**
 * ISO 8601 durations as operators write them in policies (`PT10M`, `P1D`, `PT0.5S`). Years and months
 * are refused: their length depends on the calendar, and a rollout timer must mean one exact span.
 */
const pattern = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d{1,3})?)S)?)?$/;

export function parseDuration(text: string): number | undefined {
  const m = pattern.exec(text.trim().toUpperCase());
  if (!m || text.trim().toUpperCase() === 'P' || /T$/.test(text.trim())) return undefined;
  const [, w, d, h, min, s] = m;
  const num = (v: string | undefined): number => (v ? Number(v.replace(',', '.')) : 0);
  return Math.round(
    num(w) * 604_800_000 + num(d) * 86_400_000 + num(h) * 3_600_000 + num(min) * 60_000 + num(s) * 1000,
  );
}

/** Formats milliseconds back into the shortest ISO 8601 duration, for messages and status. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return 'PT0S';
  let rest = ms;
  const days = Math.floor(rest / 86_400_000);
  rest -= days * 86_400_000;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = rest / 1000;
  const time = `${hours ? `${hours}H` : ''}${minutes ? `${minutes}M` : ''}${seconds ? `${seconds}S` : ''}`;
  return `P${days ? `${days}D` : ''}${time ? `T${time}` : ''}`;
}
