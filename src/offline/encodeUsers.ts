/**
 * The offline batch (`ctxrec encode`): run the sequence encoder over the last L events of every
 * user and cache its last hidden state `h` `[d]` in the feature store, tagged with the model version
 * and the time of the newest event it saw.
 *
 * Streamed: users go through in fixed chunks of `batchSize` (in user-code order), each chunk read,
 * encoded and written with one atomic `putMany`, so memory stays bounded by one or two chunks.
 * Resumable: a user whose stored `computedAt` equals their newest event time is skipped
 * (`computedAtMany`), so a rerun after a kill only encodes what is missing or stale. Chunks are cut
 * from the same user list on every run, and each chunk is written all-or-nothing, so a resumed run
 * encodes exactly the chunks the killed run had not written, with the same rows: its vectors equal
 * those of a clean run bit for bit.
 * Pipelined one deep: chunk i+1 is handed to the encoder (native threads) before chunk i is written,
 * so store writes overlap encoding.
 *
 * Shapes: B ≤ batchSize users per chunk, Lb ≤ L padded length, d state width.
 */
import { CtxrecError, requireArg } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { type EventArrays, sequenceBatch } from "../model/sequences.ts";
// Type only: the offline batch takes any encoder, without loading onnxruntime.
import type { EncoderInput } from "../onnx/runtime.ts";
import type { FeatureStore, StateEntry } from "../store/featureStore.ts";
import { openFeatureStore } from "../store/open.ts";
import type { StoreUrl } from "../store/url.ts";
import { newestEventTime, usersToEncode } from "./users.ts";

/**
 * Anything that maps right-padded histories (the ONNX contract's `EncoderInput`) to last hidden
 * states; `OnnxModelHandle.encoder` is one.
 */
export interface StateEncoder {
  /** `[B, d]` last real hidden state per row. */
  encode(x: EncoderInput): Promise<Float32Array>;
}

/** Arguments of `encodeUsers`; every field but the first three has a default. */
export interface EncodeUsersArgs {
  /** Model version written with every state (the store handle must be opened for it). */
  modelVersion: string;
  /** State width d. */
  dim: number;
  /** L, the encoder's history length: the last L events of each user are encoded. */
  maxLen: number;
  /** Users per chunk (one encoder call, one `putMany`). Default 512. */
  batchSize?: number;
  /** Unix seconds: only users with an event after it (the incremental run). Default: every user. */
  since?: number;
  /** Make the version the store's active one once every chunk is written. Default: `since` unset. */
  activate?: boolean;
  /**
   * User codes to visit, increasing (a shard of the run: src/offline/shards.ts). Default: every user
   * `usersToEncode(ds, since)` returns. Chunks are cut from this list.
   */
  users?: Int32Array;
  /** Called after each chunk with (users visited, users to visit); a returned promise is awaited. */
  onProgress?: (done: number, total: number) => void | Promise<void>;
}

/** What a run did. */
export interface EncodeReport {
  /** Users the run visited (with events; after `since` when given). */
  users: number;
  /** Users encoded and written. */
  encoded: number;
  /** Users skipped because their stored state was already up to date. */
  upToDate: number;
  /** Users of the data set without any event (never encoded: cold start when served). */
  withoutEvents: number;
  /** Chunks written. */
  batches: number;
  seconds: number;
  /** Users encoded per second (encoded / seconds). */
  usersPerSecond: number;
  /** Whether the run activated the version. */
  activated: boolean;
}

/** One chunk on its way through the encoder. */
interface Pending {
  users: Int32Array;
  names: string[];
  times: Float64Array;
  states: Promise<Float32Array>;
}

/**
 * Encoder input of the last L events of each of `users` (same slots, types and gaps as training),
 * `[B, L]`: right-padded to L itself, not to the chunk's longest row. The ONNX encoder's low bits
 * depend on the padded length (measured on a 600-user tiny world: padded to the longest row, 14 %
 * of states differ in their last bits between chunks of 1 and 16 users; padded to L, all states are
 * bit-identical across chunks of 1, 4, 16 and 512 users on 1 and 2 threads). So a user's state
 * does not depend on who shares the chunk, and a sharded run (`encode --queue`) or a resumed one
 * writes the very bits of a single clean run. Chunks of hundreds of users hold a row of L events
 * nearly always, so this costs nothing there.
 */
export function historyBatch(ds: CompiledDataset, users: Int32Array, maxLen: number): EncoderInput {
  const B = users.length;
  const firsts = new Int32Array(B);
  const ends = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    firsts[b] = ds.offsets[users[b]];
    ends[b] = ds.offsets[users[b] + 1];
  }
  return lastEventsBatch(ds, firsts, ends, maxLen);
}

/**
 * Encoder input `[B, L]` of the last L events of each row b, whose events are `firsts[b] ..
 * ends[b]-1` of `ev` in time order: the one layout every encode path shares (the offline batch
 * over a data set, `ctxrec stream` over its per-user event logs), so both write the same bits for
 * the same history. An event before the row's first encoded one (at `firsts[b]` when the range
 * holds more than L) only gives that first event its time gap, as in training.
 */
export function lastEventsBatch(
  ev: EventArrays,
  firsts: Int32Array,
  ends: Int32Array,
  maxLen: number,
): EncoderInput {
  const B = firsts.length;
  const starts = new Int32Array(B);
  for (let b = 0; b < B; b++) starts[b] = Math.max(firsts[b], ends[b] - maxLen);
  const seq = sequenceBatch(ev, starts, ends, firsts, maxLen);
  const x = { B, len: seq.len, items: seq.items, types: seq.types, gaps: seq.gaps, lengths: seq.lengths };
  return x.len === maxLen ? x : padRows(x, maxLen);
}

/** `x` with every row right-padded (code 0) to `len` ≥ x.len slots. */
function padRows(x: EncoderInput, len: number): EncoderInput {
  const grow = (a: Int32Array) => {
    const out = new Int32Array(x.B * len);
    for (let b = 0; b < x.B; b++) out.set(a.subarray(b * x.len, (b + 1) * x.len), b * len);
    return out;
  };
  return { B: x.B, len, items: grow(x.items), types: grow(x.types), gaps: grow(x.gaps), lengths: x.lengths };
}

/**
 * Encodes the users of `ds` into `store` (opened in "write" mode for `args.modelVersion`, width
 * `args.dim`) and returns what it did. See the module comment for streaming, resuming and order.
 */
export async function encodeUsers(
  ds: CompiledDataset,
  encoder: StateEncoder,
  store: FeatureStore,
  args: EncodeUsersArgs,
): Promise<EncodeReport> {
  const batchSize = args.batchSize ?? 512;
  requireArg(
    Number.isInteger(batchSize) && batchSize >= 1,
    "batchSize",
    `batch size must be a positive integer, got ${batchSize}`,
  );
  requireArg(
    Number.isInteger(args.maxLen) && args.maxLen >= 1,
    "maxLen",
    `L must be ≥ 1, got ${args.maxLen}`,
  );
  if (store.modelVersion !== args.modelVersion || store.dim !== args.dim || store.mode !== "write") {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_VERSION",
      `the store handle is for model version ${store.modelVersion} (d = ${store.dim}, ${store.mode}), the encoder is version ${args.modelVersion} (d = ${args.dim}); open the store in write mode for the encoder's version`,
      { param: "store" },
    );
  }
  const started = performance.now();
  const all = args.users ?? usersToEncode(ds, args.since);
  const withoutEvents = countWithoutEvents(ds);
  const names = ds.userVocab.names;
  let encoded = 0;
  let upToDate = 0;
  let batches = 0;
  let done = 0;
  let pending: Pending | undefined;

  const write = async (p: Pending): Promise<void> => {
    const h = await p.states;
    const B = p.users.length;
    if (h.length !== B * args.dim) {
      throw new CtxrecError(
        "CTXREC_ERR_SHAPE",
        `the encoder returned ${h.length} values for ${B} users; expected [${B}, ${args.dim}]`,
        { param: "encoder output" },
      );
    }
    const entries: StateEntry[] = new Array(B);
    for (let b = 0; b < B; b++) {
      entries[b] = {
        user: p.names[b],
        // A copy, not a view: the store may keep or transfer the buffer.
        vector: h.slice(b * args.dim, (b + 1) * args.dim),
        modelVersion: args.modelVersion,
        computedAt: p.times[b],
      };
    }
    await store.putMany(entries);
    encoded += B;
    batches++;
  };

  for (let a = 0; a < all.length; a += batchSize) {
    const chunk = all.subarray(a, Math.min(all.length, a + batchSize));
    const chunkNames = Array.from(chunk, (u) => names[u]);
    const stored = await store.computedAtMany(chunkNames);
    const todo: number[] = [];
    for (let j = 0; j < chunk.length; j++) {
      if (stored[j] === newestEventTime(ds, chunk[j])) upToDate++;
      else todo.push(j);
    }
    let next: Pending | undefined;
    if (todo.length > 0) {
      const users = Int32Array.from(todo, (j) => chunk[j]);
      const states = encoder.encode(historyBatch(ds, users, args.maxLen));
      // Awaited in `write`; this only stops Node from reporting a rejection as unhandled while
      // the previous chunk is being written.
      states.catch(() => undefined);
      next = {
        users,
        names: todo.map((j) => chunkNames[j]),
        times: Float64Array.from(users, (u) => newestEventTime(ds, u)),
        states,
      };
    }
    if (pending !== undefined) await write(pending);
    pending = next;
    done += chunk.length;
    await args.onProgress?.(done, all.length);
  }
  if (pending !== undefined) await write(pending);
  const activate = args.activate ?? args.since === undefined;
  if (activate) await store.activate();
  const seconds = (performance.now() - started) / 1000;
  return {
    users: all.length,
    encoded,
    upToDate,
    withoutEvents,
    batches,
    seconds,
    usersPerSecond: seconds > 0 ? encoded / seconds : 0,
    activated: activate,
  };
}

function countWithoutEvents(ds: CompiledDataset): number {
  let n = 0;
  for (let u = 1; u < ds.offsets.length - 1; u++) if (ds.offsets[u + 1] === ds.offsets[u]) n++;
  return n;
}

/** An encoder with what the store needs to know of its model (an `OnnxModelHandle` is one). */
export interface VersionedEncoder {
  version: string;
  dim: number;
  maxLen: number;
  encoder: StateEncoder;
}

/**
 * Opens the store at `url` in "write" mode for `model`'s version and width, runs `encodeUsers`,
 * and closes the store; also returns the store's active version after the run.
 */
export async function encodeIntoStore(
  ds: CompiledDataset,
  model: VersionedEncoder,
  url: string | StoreUrl,
  args: Omit<EncodeUsersArgs, "modelVersion" | "dim" | "maxLen"> = {},
): Promise<EncodeReport & { activeVersion: string | undefined }> {
  const store = await openFeatureStore(url, { modelVersion: model.version, dim: model.dim, mode: "write" });
  try {
    const report = await encodeUsers(ds, model.encoder, store, {
      ...args,
      modelVersion: model.version,
      dim: model.dim,
      maxLen: model.maxLen,
    });
    return { ...report, activeVersion: await store.activeVersion() };
  } finally {
    await store.close();
  }
}
