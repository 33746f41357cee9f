/**
 * Hot swap of whole bundles (model + index + store version) without dropping requests.
 *
 * The reference lives in an `IndexHandle` (src/index/handle.ts) whose per-version extras are the
 * rest of the bundle, so the index and the model/store of a request always come from one version.
 * A request holds the bundle it started on across its awaits (`use`); `reload` loads the new bundle
 * COMPLETELY first (any failure or version disagreement throws there, and the old bundle keeps
 * serving), then swaps one reference, waits for the requests still on the old bundle to drain and
 * only then closes it. Reloads are serialised: a second one waits for the first.
 */
import type { FastifyBaseLogger } from "fastify";
import { IndexHandle, type IndexVersion } from "../index/handle.ts";
import {
  type BundleOptions,
  type BundleSource,
  closeBundle,
  loadBundle,
  type ServeBundle,
} from "./bundle.ts";

/** What a reload reports. */
export interface ReloadResult {
  previousVersion: string;
  modelVersion: string;
  /** Swap generation (0 = the first bundle). */
  generation: number;
}

/** Loads bundles: the real `loadBundle`, or a stand-in in tests. */
export type BundleLoader = (src: BundleSource) => Promise<ServeBundle>;

/** The current bundle, swappable. */
export class BundleHandle {
  private readonly handle: IndexHandle<ServeBundle>;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    first: ServeBundle,
    private readonly loader: BundleLoader,
    private readonly close: (b: ServeBundle) => Promise<void> = closeBundle,
  ) {
    this.handle = new IndexHandle(first.index, first);
  }

  /** The bundle new requests get now. */
  get current(): ServeBundle {
    return this.handle.current.extras;
  }

  get generation(): number {
    return this.handle.current.generation;
  }

  /** Runs `fn` on the current bundle, which stays open until `fn` settles even if a swap happens. */
  use<T>(fn: (b: ServeBundle) => Promise<T>): Promise<T> {
    return this.handle.use((v) => fn(v.extras));
  }

  /**
   * Loads `src` (default: the current bundle's source, i.e. the same paths whose files were
   * replaced) and swaps to it. Throws, leaving the old bundle in place, when loading fails.
   */
  reload(src: Partial<BundleSource> = {}, log?: FastifyBaseLogger): Promise<ReloadResult> {
    const run = async () => this.install(await this.prepare(src), log);
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /**
   * The first half of a reload: loads `src` over the current source WITHOUT swapping, so that
   * serving replicas can each load first and swap only once every one of them has loaded (the
   * primary of `serve --workers` orders the halves; a caller that does not use `reload` is
   * responsible for not interleaving two of them). Hand the bundle to `install` or `discard`.
   */
  prepare(src: Partial<BundleSource> = {}): Promise<ServeBundle> {
    return this.loader({ ...this.current.source, ...src });
  }

  /** The second half: swaps to `next` (from `prepare`) and closes the old bundle once its requests drain. */
  install(next: ServeBundle, log?: FastifyBaseLogger): ReloadResult {
    const prev = this.handle.current;
    const old: IndexVersion<ServeBundle> = this.handle.swap(next.index, next);
    log?.info(
      { from: prev.extras.modelVersion, to: next.modelVersion, generation: this.generation },
      "swapped to a new bundle; closing the old one after its requests drain",
    );
    // Close after the drain, off the caller's path: in-flight requests finish on the old bundle.
    void this.handle
      .drained(old)
      .then(() => this.close(old.extras))
      .catch((err: unknown) => log?.error({ err }, "closing the old bundle failed"));
    return {
      previousVersion: prev.extras.modelVersion,
      modelVersion: next.modelVersion,
      generation: this.generation,
    };
  }

  /** Closes a bundle from `prepare` that will not be installed (another replica failed to load). */
  discard(next: ServeBundle): Promise<void> {
    return this.close(next);
  }

  /** Waits for any reload and closes the current bundle (server shutdown). */
  async closeAll(): Promise<void> {
    await this.chain;
    await this.close(this.current);
  }
}

/** A loader over the real `loadBundle` with fixed options. */
export function bundleLoader(opts: BundleOptions): BundleLoader {
  return (src) => loadBundle(src, opts);
}
