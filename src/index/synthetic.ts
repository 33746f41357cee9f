/**
 * Item embeddings that look like a trained item tower's, for tests and benchmarks of the index:
 * a Gaussian mixture (items cluster by interest category) with log-normal norms (popular items
 * get longer vectors under a sampled-softmax loss with logQ correction, so inner product and cosine
 * rank differently — the case a MIPS index must get right). Queries come from the same mixture.
 */
import { requireArg } from "../core/errors.ts";
import { Rng } from "../core/rng.ts";

/** Arguments of `gaussianMixture`. */
export interface MixtureArgs {
  /** Rows to draw (N items or B queries). */
  n: number;
  /** Width d. */
  dim: number;
  /** Mixture components. Default 64. */
  clusters?: number;
  /**
   * Within-cluster spread relative to the unit-norm centres. Default 1: clusters overlap, as learned
   * embeddings do; at 0.35 they are islands an HNSW graph barely links, so filtered graph search
   * (which must leave the query's cluster) loses recall (docs/vector-index.md).
   */
  spread?: number;
  /** σ of log ‖v‖; 0 with `normalise` gives unit vectors. Default 0.3. */
  normSigma?: number;
  /** L2-normalise each row before applying the norm. Default false. */
  normalise?: boolean;
  seed: number;
  /** Seed of the cluster centres; share it between items and queries so queries hit the clusters. */
  centreSeed?: number;
}

/** `[n, dim]` row-major draws (see the module comment). Same seeds ⇒ same values. */
export function gaussianMixture(args: MixtureArgs): Float32Array {
  const { n, dim, seed } = args;
  const clusters = args.clusters ?? 64;
  const spread = args.spread ?? 1;
  const normSigma = args.normSigma ?? 0.3;
  requireArg(Number.isInteger(n) && n >= 0, "n", `n must be an integer ≥ 0, got ${n}`);
  requireArg(Number.isInteger(dim) && dim > 0, "dim", `dim must be a positive integer, got ${dim}`);
  const centreRng = new Rng(args.centreSeed ?? 12345);
  const centres = new Float64Array(clusters * dim);
  for (let c = 0; c < clusters; c++) {
    let s = 0;
    for (let j = 0; j < dim; j++) {
      const z = centreRng.normal();
      centres[c * dim + j] = z;
      s += z * z;
    }
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) centres[c * dim + j] *= inv;
  }
  const rng = new Rng(seed);
  const out = new Float32Array(n * dim);
  const row = new Float64Array(dim);
  const noise = spread / Math.sqrt(dim);
  for (let i = 0; i < n; i++) {
    const c = rng.int(clusters);
    let s = 0;
    for (let j = 0; j < dim; j++) {
      row[j] = centres[c * dim + j] + noise * rng.normal();
      s += row[j] * row[j];
    }
    const scale = (args.normalise ? 1 / Math.sqrt(s) : 1) * Math.exp(normSigma * rng.normal());
    for (let j = 0; j < dim; j++) out[i * dim + j] = row[j] * scale;
  }
  return out;
}

/** Item ids "item-0" … "item-(n-1)". */
export function syntheticIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `item-${i}`);
}
