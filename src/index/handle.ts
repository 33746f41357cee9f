/**
 * Atomic version swap for the service: one mutable reference to the index version in use.
 *
 * A request takes ONE version at its start (`use`) and keeps it across its awaits (store lookup,
 * tower, ANN), so a swap never hands a request two versions. `swap` replaces the reference in one
 * assignment: requests that started earlier finish on the old version, later ones get the new one.
 * `drained(old)` resolves when the last request on the old version has finished, after which the
 * old index is unreferenced (native memory is freed by GC; neither library has an explicit free).
 *
 * Anything tied to an index version (per-country filters, whose size is N of that version) travels
 * with it as `extras`, so filter and index can never come from different versions.
 */
import { requireArg } from "../core/errors.ts";
import { type LoadVectorIndexArgs, loadVectorIndex } from "./load.ts";
import type { VectorIndex } from "./vectorIndex.ts";

/** One index version as handed to a request. */
export interface IndexVersion<E> {
  readonly index: VectorIndex;
  /** Per-version companions (e.g. `CountryEligibility` for this N). */
  readonly extras: E;
  /** 0 for the first version, +1 per swap. */
  readonly generation: number;
}

interface Slot<E> extends IndexVersion<E> {
  inFlight: number;
  waiters: (() => void)[];
}

/** Holds the current index version and swaps it atomically. */
export class IndexHandle<E = undefined> {
  private slot: Slot<E>;

  constructor(index: VectorIndex, extras: E) {
    this.slot = { index, extras, generation: 0, inFlight: 0, waiters: [] };
  }

  /** The version new requests get now. */
  get current(): IndexVersion<E> {
    return this.slot;
  }

  /** Runs `fn` on the current version, holding it until `fn` settles even if a swap happens meanwhile. */
  async use<T>(fn: (v: IndexVersion<E>) => T | Promise<T>): Promise<T> {
    const slot = this.slot;
    slot.inFlight++;
    try {
      return await fn(slot);
    } finally {
      slot.inFlight--;
      if (slot.inFlight === 0 && slot !== this.slot) for (const w of slot.waiters.splice(0)) w();
    }
  }

  /** Makes `index` (with its `extras`) current; returns the previous version. */
  swap(index: VectorIndex, extras: E): IndexVersion<E> {
    const prev = this.slot;
    this.slot = { index, extras, generation: prev.generation + 1, inFlight: 0, waiters: [] };
    return prev;
  }

  /**
   * Loads `path` for `args.modelVersion` and swaps to it. Loading (and `prepare`) happen before the
   * swap, so a bad artifact throws here and the current version keeps serving.
   */
  loadAndSwap(path: string, args: LoadVectorIndexArgs, prepare: (index: VectorIndex) => E): IndexVersion<E> {
    const index = loadVectorIndex(path, args);
    return this.swap(index, prepare(index));
  }

  /** Number of requests running on `v` (a version this handle handed out). */
  inFlight(v: IndexVersion<E>): number {
    return (v as Slot<E>).inFlight;
  }

  /** Resolves once no request runs on `old`, a version already swapped out. */
  drained(old: IndexVersion<E>): Promise<void> {
    const slot = old as Slot<E>;
    requireArg(slot !== this.slot, "old", "the current version never drains; swap it out first");
    if (slot.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => slot.waiters.push(resolve));
  }
}
