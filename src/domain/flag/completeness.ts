/**
 * Completeness of a revision's output against what its source emitted: every sequence id in the
 * expected range present once, in order. Pure: the ids are read by an activity, judged here.
 */

/** Ids named in a report: enough to find them in the logs, few enough for a message and the history. */
const exampleCount = 5;

/** Inclusive range of sequence ids the source emitted over the window. */
export interface SequenceRange {
  first: number;
  last: number;
}

export interface CompletenessReport {
  verdict: 'pass' | 'fail';
  message: string;
  /** The range the ids were checked against, and whether it came from the source or from the ids. */
  expected?: SequenceRange & { from: 'source' | 'ids' };
  /** Ids read (records carrying an integer id), and records whose id field was missing or not an integer. */
  seen: number;
  unreadable: number;
  /** Ids of the expected range never written: how many, the longest run, and the first few. */
  holes: { count: number; longest: number; examples: number[] };
  /** Ids written more than once: how many extra writes, and the first few ids. */
  duplicates: { count: number; examples: number[] };
  /** Ids written after a higher one: how many, and the first few. */
  reordered: { count: number; examples: number[] };
  /** Only the newest records of the window were read: older holes cannot be seen. */
  truncated: boolean;
}

/**
 * Judges the sequence ids a revision wrote, in the order it wrote them, against the range the source
 * emitted. Without a source range the expected range is the ids' own minimum to maximum, so a hole at
 * either end of the window cannot be seen; holes inside it can.
 *
 * Fails when a run of consecutive missing ids is longer than `maxGap` (0: any hole fails) or when an id
 * was written twice (a doubled frame is as wrong as a lost one). Reordering is reported, not failed: a
 * workload that writes in parallel may legitimately write out of order, and every id is still there.
 */
export function assessCompleteness(
  ids: readonly number[],
  source: SequenceRange | undefined,
  maxGap: number,
  window: { truncated?: boolean; unreadable?: number } = {},
): CompletenessReport {
  const truncated = window.truncated ?? false;
  const unreadable = window.unreadable ?? 0;
  const seenOnce = new Set<number>();
  const duplicates = { count: 0, examples: [] as number[] };
  const reordered = { count: 0, examples: [] as number[] };
  let highest = -Infinity;
  let lowest = Infinity;
  for (const id of ids) {
    if (seenOnce.has(id)) {
      duplicates.count += 1;
      if (duplicates.examples.length < exampleCount) duplicates.examples.push(id);
    } else if (id < highest) {
      reordered.count += 1;
      if (reordered.examples.length < exampleCount) reordered.examples.push(id);
    }
    seenOnce.add(id);
    highest = Math.max(highest, id);
    lowest = Math.min(lowest, id);
  }
  const base = { seen: ids.length, unreadable, duplicates, reordered, truncated };
  const holes = { count: 0, longest: 0, examples: [] as number[] };
  if (ids.length === 0) {
    return {
      verdict: source && source.last >= source.first ? 'fail' : 'pass',
      message:
        source && source.last >= source.first
          ? `none of ids ${source.first}-${source.last} the source emitted was written`
          : 'no sequence ids written yet',
      ...base,
      holes,
    };
  }
  // A truncated window starts where reading began: what came before is not a hole we can see.
  const first = source && !truncated ? Math.min(source.first, lowest) : lowest;
  const last = source ? Math.max(source.last, highest) : highest;
  const expected = { first, last, from: source ? ('source' as const) : ('ids' as const) };
  let run = 0;
  for (let id = first; id <= last; id++) {
    if (seenOnce.has(id)) {
      run = 0;
      continue;
    }
    holes.count += 1;
    run += 1;
    holes.longest = Math.max(holes.longest, run);
    if (holes.examples.length < exampleCount) holes.examples.push(id);
  }
  const problems: string[] = [];
  if (holes.longest > maxGap) {
    problems.push(
      `${holes.count} of ids ${first}-${last} missing (e.g. ${holes.examples.join(', ')}; longest run ${holes.longest}, at most ${maxGap} tolerated)`,
    );
  }
  if (duplicates.count > 0) {
    problems.push(`${duplicates.count} ids written twice (e.g. ${duplicates.examples.join(', ')})`);
  }
  const notes: string[] = [];
  if (holes.count > 0 && holes.longest <= maxGap) {
    notes.push(`${holes.count} ids missing within the tolerated gap of ${maxGap}`);
  }
  if (reordered.count > 0) {
    notes.push(`${reordered.count} ids out of order (e.g. ${reordered.examples.join(', ')})`);
  }
  if (truncated) notes.push(`only the newest ${ids.length + unreadable} records were read`);
  if (unreadable > 0) notes.push(`${unreadable} records without a readable id`);
  const tail = notes.length > 0 ? `; ${notes.join('; ')}` : '';
  return problems.length > 0
    ? {
        verdict: 'fail',
        message: `output is incomplete: ${problems.join('; ')}${tail}`,
        expected,
        ...base,
        holes,
      }
    : {
        verdict: 'pass',
        message: `ids ${first}-${last} all written once${tail}`,
        expected,
        ...base,
        holes,
      };
}
