/** A few items of a list for a violation sentence: "a, b, c and 12 more". */
export function examples(items: readonly string[], shown = 3): string {
  const head = items.slice(0, shown).join(", ");
  return items.length > shown ? `${head} and ${items.length - shown} more` : head;
}

/** "3 × unavailable, 1 × internal" from a code → count map. */
export function countsList(counts: ReadonlyMap<string, number>): string {
  return [...counts].map(([code, n]) => `${n} × ${code}`).join(", ");
}
