/**
 * Edit distance between two words, counting a swap of two neighbouring letters as one edit (optimal string
 * alignment): `lsit` is one edit from `list`, as a typo is.
 */
export function editDistance(left: string, right: string): number {
  const rows = left.length + 1;
  const columns = right.length + 1;
  const distance: number[][] = Array.from({ length: rows }, (_, row) => Array.from({ length: columns }, (_, column) => (row === 0 ? column : column === 0 ? row : 0)));
  const at = (row: number, column: number): number => distance[row]?.[column] ?? Number.POSITIVE_INFINITY;
  for (let row = 1; row < rows; row++) {
    for (let column = 1; column < columns; column++) {
      const cost = left[row - 1] === right[column - 1] ? 0 : 1;
      let best = Math.min(at(row - 1, column) + 1, at(row, column - 1) + 1, at(row - 1, column - 1) + cost);
      if (row > 1 && column > 1 && left[row - 1] === right[column - 2] && left[row - 2] === right[column - 1]) {
        best = Math.min(best, at(row - 2, column - 2) + 1);
      }
      const line = distance[row];
      if (line) line[column] = best;
    }
  }
  return at(rows - 1, columns - 1);
}

/**
 * The candidates a mistyped `word` most likely meant, best first (at most three): those within a few edits (more
 * for longer words), and those it is the start of (`serv` → `server`).
 */
export function suggest(word: string, candidates: Iterable<string>): string[] {
  const typed = word.toLowerCase();
  const allowed = Math.max(1, Math.floor(typed.length / 3));
  const scored: { candidate: string; score: number }[] = [];
  for (const candidate of new Set(candidates)) {
    const distance = editDistance(typed, candidate.toLowerCase());
    if (distance <= allowed) scored.push({ candidate, score: distance });
    else if (typed.length >= 2 && candidate.startsWith(typed)) scored.push({ candidate, score: allowed + 1 });
  }
  return scored
    .sort((a, b) => a.score - b.score || a.candidate.localeCompare(b.candidate))
    .slice(0, 3)
    .map((entry) => entry.candidate);
}

/** ` Did you mean "x"?` (or `"x" or "y"`), or nothing when there is no close candidate. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const close = suggest(word, candidates).map((candidate) => `"${candidate}"`);
  if (close.length === 0) return '';
  const last = close.pop() ?? '';
  return ` Did you mean ${close.length > 0 ? `${close.join(', ')} or ${last}` : last}?`;
}
