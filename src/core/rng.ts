import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { requireArg } from "./errors.ts";

/**
 * A seeded random source. Every random choice in ctxrec takes one of these (or a seed to make one),
 * so the same seed gives the same data, model and metrics. Backed by pure-rand's xoroshiro128+.
 * Not safe to share between two consumers that must stay independent: use `fork()`.
 */
export class Rng {
  private readonly gen: ReturnType<typeof xoroshiro128plus>;
  private spareNormal: number | undefined;

  constructor(readonly seed: number) {
    requireArg(Number.isInteger(seed), "seed", `seed must be an integer, got ${seed}`);
    // xoroshiro128+ seeded with a plain integer returns ~seed as its first output, and nearby seeds
    // (FNV hashes of labels that differ in their last character) give correlated early draws: mix
    // the seed over all 32 bits and discard a few outputs so every stream starts decorrelated.
    this.gen = xoroshiro128plus(fmix32(seed));
    for (let i = 0; i < 4; i++) this.gen.next();
  }

  /** Uniform in [0, 1). */
  float(): number {
    return uniformFloat64(this.gen);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.float() < p;
  }

  /** Standard normal (Box–Muller, caching the second draw). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return z;
    }
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Index drawn with probability proportional to `weights[i]` (weights ≥ 0, not all 0). */
  weighted(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i];
    let x = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i];
      if (x < 0) return i;
    }
    return weights.length - 1;
  }

  /** Shuffles in place (Fisher–Yates) and returns the array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** A new independent generator derived from this one (consumes one draw). */
  fork(): Rng {
    return new Rng(this.gen.next());
  }
}

/** murmur3's 32-bit finaliser: spreads every input bit over every output bit. */
export function fmix32(h: number): number {
  let x = h | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x | 0;
}

/** Derives a child seed from a seed and a label, so components seeded from one number stay independent. */
export function deriveSeed(seed: number, label: string): number {
  // FNV-1a over the label, mixed with the seed: stable across runs and platforms.
  let h = 0x811c9dc5 ^ (seed | 0);
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}
