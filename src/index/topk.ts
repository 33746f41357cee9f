/**
 * Bounded top-K selection by score: a min-heap of the K best (row, score) pairs seen so far, so a
 * scan over N items costs O(N log K) and O(K) memory instead of a full O(N log N) argsort.
 * Order: higher score first; equal scores by lower row, which makes every index's answer (and the
 * argsort in the contract tests) deterministic.
 */

/** Collects the best K of a stream of (row, score) pairs. */
export class TopK {
  private readonly rows: Int32Array;
  private readonly scores: Float64Array;
  private n = 0;

  constructor(readonly k: number) {
    this.rows = new Int32Array(k);
    this.scores = new Float64Array(k);
  }

  /** Number of pairs held (≤ K). */
  get length(): number {
    return this.n;
  }

  /** The worst score held when full, else -∞: a pair must beat it to enter. */
  get threshold(): number {
    return this.n < this.k ? Number.NEGATIVE_INFINITY : this.scores[0];
  }

  /** Offers one pair. */
  push(row: number, score: number): void {
    if (this.n < this.k) {
      this.rows[this.n] = row;
      this.scores[this.n] = score;
      this.siftUp(this.n++);
    } else if (worse(this.scores[0], this.rows[0], score, row)) {
      this.rows[0] = row;
      this.scores[0] = score;
      this.siftDown(0);
    }
  }

  /** The held pairs, best first. Leaves the collector empty. */
  drain(): { rows: Int32Array; scores: Float32Array } {
    const m = this.n;
    const rows = new Int32Array(m);
    const scores = new Float32Array(m);
    // Popping the min-heap yields worst first; fill from the back.
    for (let j = m - 1; j >= 0; j--) {
      rows[j] = this.rows[0];
      scores[j] = this.scores[0];
      this.n--;
      if (this.n > 0) {
        this.rows[0] = this.rows[this.n];
        this.scores[0] = this.scores[this.n];
        this.siftDown(0);
      }
    }
    return { rows, scores };
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!worse(this.scores[i], this.rows[i], this.scores[p], this.rows[p])) return;
      this.swap(i, p);
      i = p;
    }
  }

  private siftDown(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.n && worse(this.scores[l], this.rows[l], this.scores[m], this.rows[m])) m = l;
      if (r < this.n && worse(this.scores[r], this.rows[r], this.scores[m], this.rows[m])) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    const r = this.rows[a];
    this.rows[a] = this.rows[b];
    this.rows[b] = r;
    const s = this.scores[a];
    this.scores[a] = this.scores[b];
    this.scores[b] = s;
  }
}

/** Whether (sa, ra) ranks below (sb, rb): lower score, or equal score and higher row. */
function worse(sa: number, ra: number, sb: number, rb: number): boolean {
  return sa < sb || (sa === sb && ra > rb);
}

/**
 * Sorts candidate (row, score) pairs best first by the same order as `TopK`, keeping at most k.
 * For the short lists an ANN search returns (K to a few hundred).
 */
export function sortCandidates(
  rows: ArrayLike<number>,
  scores: ArrayLike<number>,
  k: number,
): { rows: Int32Array; scores: Float32Array } {
  const top = new TopK(Math.max(1, Math.min(k, rows.length)));
  for (let j = 0; j < rows.length; j++) top.push(rows[j], scores[j]);
  return rows.length === 0 ? { rows: new Int32Array(0), scores: new Float32Array(0) } : top.drain();
}
