/**
 * onnxruntime-node sessions over the three exported graphs (encoder, online tower, item tower),
 * with inputs validated before they reach ORT (inputs.ts) and every handle tagged with the model
 * version it serves. `openOnnxModel` reads `<modelDir>/onnx/` (written by `exportOnnx`) and
 * refuses an export of another model version; `openOnnxGraphs` opens graphs held in memory.
 * Shapes: B rows, Lb ≤ L padded length, k context slots, d width, U items asked for, N items.
 */
import * as ort from "onnxruntime-node";
import { wrapError } from "../core/errors.ts";
import type { ContextInput } from "../model/contextLayer.ts";
import { requireCodes, requireFiniteValues, requireInt, requireLength } from "./inputs.ts";
import {
  GRAPH_NAMES,
  type GraphName,
  type OnnxModelMeta,
  readGraphFile,
  readOnnxManifest,
} from "./manifest.ts";
import { demoInputName } from "./online.ts";

export interface OnnxModelHandle {
  /** The model artifact's manifest.version (content hash); every output is tagged with it. */
  version: string;
  /** d */
  dim: number;
  /** L */
  maxLen: number;
  /** k slots the online graph takes (4 = the train default; the graph accepts any k ≥ 1). */
  contextK: number;
  /** Sizes and options of the exported model (vocabulary sizes, demographic fields). */
  meta: OnnxModelMeta;
  encoder: OrtEncoder;
  online: OrtOnlineTower;
  itemTower: OrtItemTower;
  close(): Promise<void>;
}

/** A right-padded history batch, like src/model/sequences.ts SequenceBatch. */
export interface EncoderInput {
  B: number;
  /** Lb ≤ L (0 allowed when every row is empty). */
  len: number;
  /** [B·len] item codes (0 = padding). */
  items: Int32Array;
  /** [B·len] event-type codes (0 padding). */
  types: Int32Array;
  /** [B·len] time-gap buckets (0 padding), see src/model/encoder.ts gapBucket. */
  gaps: Int32Array;
  /** [B] real events per row (0 = empty history). */
  lengths: Int32Array;
}

export interface OrtEncoder {
  /** [B, d] last real hidden state (the cached "h"); length 0 → the empty-history state. */
  encode(x: EncoderInput): Promise<Float32Array>;
}

export interface OnlineInput {
  B: number;
  /** [B, d] cached states. */
  h: Float32Array;
  /** k, catIds [B, k], weights [B, k], present [B] (ignored by a baseline model). */
  context: ContextInput;
  /** [B] codes per field, 1 = missing; a field the model embeds but absent here counts as missing. */
  demographics: Record<string, Int32Array>;
}

export interface OrtOnlineTower {
  /** [B, d] user embeddings u. */
  embed(x: OnlineInput): Promise<Float32Array>;
}

export interface OrtItemTower {
  /** [U] item codes → [U, d]. */
  embed(items: Int32Array): Promise<Float32Array>;
  /** [N, d] every item (row 0 = padding). */
  embedAll(): Promise<Float32Array>;
}

export interface OpenOnnxOptions {
  /** Intra-op threads of the encoder and item-tower sessions (default 1). */
  threads?: number;
  /** Intra-op threads of the online session (default 1: batch-1 requests gain nothing from more). */
  onlineThreads?: number;
}

/** The serialized graphs of one model. */
export type OnnxGraphs = Record<GraphName, Uint8Array>;

/** Items per item-tower call in `embedAll` (bounds the memory of one run). */
const EMBED_ALL_CHUNK = 65_536;

function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
  };
}

async function createSession(
  bytes: Uint8Array,
  threads: number,
  name: GraphName,
): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, sessionOptions(threads));
  } catch (err) {
    throw wrapError("CTXREC_ERR_ENGINE", err, `onnxruntime could not load the ${name} graph; re-export it`, {
      param: name,
    });
  }
}

async function runOne(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, name: string) {
  try {
    const out = await session.run(feeds);
    return out[session.outputNames[0]].data as Float32Array;
  } catch (err) {
    throw wrapError("CTXREC_ERR_ENGINE", err, `onnxruntime failed running the ${name} graph`, {
      param: name,
    });
  }
}

function encoderOf(session: ort.InferenceSession, meta: OnnxModelMeta): OrtEncoder {
  const wanted = new Set(session.inputNames);
  return {
    async encode(x) {
      requireInt(x.B, 0, 2 ** 31 - 1, "EncoderInput.B");
      requireInt(x.len, 0, meta.maxLen, "EncoderInput.len");
      const n = x.B * x.len;
      requireLength(x.items, n, "EncoderInput.items [B·len]");
      requireLength(x.types, n, "EncoderInput.types [B·len]");
      requireLength(x.gaps, n, "EncoderInput.gaps [B·len]");
      requireLength(x.lengths, x.B, "EncoderInput.lengths [B]");
      for (let b = 0; b < x.B; b++) requireInt(x.lengths[b], 0, x.len, `EncoderInput.lengths[${b}]`);
      requireCodes(x.items, meta.items, "EncoderInput.items");
      requireCodes(x.types, meta.types, "EncoderInput.types");
      requireCodes(x.gaps, meta.gapBuckets, "EncoderInput.gaps");
      if (x.B === 0) return new Float32Array(0);
      // Every row empty: one padding slot, as sequenceBatch pads to Lb ≥ 1 (the graph reads slot 0).
      const len = Math.max(1, x.len);
      const pad = (a: Int32Array) => (x.len === 0 ? new Int32Array(x.B) : a);
      const all: Record<string, ort.Tensor> = {
        items: new ort.Tensor("int32", pad(x.items), [x.B, len]),
        types: new ort.Tensor("int32", pad(x.types), [x.B, len]),
        gaps: new ort.Tensor("int32", pad(x.gaps), [x.B, len]),
        lengths: new ort.Tensor("int32", x.lengths, [x.B]),
      };
      // A model without type or gap embeddings has no such input (ORT refuses unknown feeds).
      const feeds = Object.fromEntries(Object.entries(all).filter(([k]) => wanted.has(k)));
      return runOne(session, feeds, "encoder");
    },
  };
}

function onlineOf(session: ort.InferenceSession, meta: OnnxModelMeta): OrtOnlineTower {
  const d = meta.dim;
  return {
    async embed(x) {
      requireInt(x.B, 0, 2 ** 31 - 1, "OnlineInput.B");
      requireLength(x.h, x.B * d, "OnlineInput.h [B, d]");
      requireFiniteValues(x.h, "OnlineInput.h");
      if (x.B === 0) return new Float32Array(0);
      const feeds: Record<string, ort.Tensor> = { h: new ort.Tensor("float32", x.h, [x.B, d]) };
      if (meta.contextLayer) {
        const c = x.context;
        requireInt(c?.k, 1, 1024, "OnlineInput.context.k");
        requireLength(c.catIds, x.B * c.k, "OnlineInput.context.catIds [B, k]");
        requireLength(c.weights, x.B * c.k, "OnlineInput.context.weights [B, k]");
        requireLength(c.present, x.B, "OnlineInput.context.present [B]");
        requireCodes(c.catIds, meta.categories, "OnlineInput.context.catIds");
        requireFiniteValues(c.weights, "OnlineInput.context.weights");
        feeds.cat_ids = new ort.Tensor("int32", c.catIds, [x.B, c.k]);
        feeds.cat_weights = new ort.Tensor("float32", c.weights, [x.B, c.k]);
        feeds.present = new ort.Tensor("float32", Float32Array.from(c.present), [x.B, 1]);
        for (const { field, size } of meta.demographics) {
          const codes = x.demographics?.[field] ?? new Int32Array(x.B).fill(1);
          requireLength(codes, x.B, `OnlineInput.demographics.${field} [B]`);
          requireCodes(codes, size, `OnlineInput.demographics.${field}`);
          feeds[demoInputName(field)] = new ort.Tensor("int32", codes, [x.B]);
        }
      }
      return runOne(session, feeds, "online");
    },
  };
}

function itemTowerOf(
  session: ort.InferenceSession,
  meta: Pick<OnnxModelMeta, "items" | "dim">,
): OrtItemTower {
  const embed = async (items: Int32Array) => {
    requireCodes(items, meta.items, "items");
    if (items.length === 0) return new Float32Array(0);
    return runOne(session, { items: new ort.Tensor("int32", items, [items.length]) }, "itemTower");
  };
  return {
    embed,
    async embedAll() {
      const N = meta.items;
      const out = new Float32Array(N * meta.dim);
      for (let a = 0; a < N; a += EMBED_ALL_CHUNK) {
        const items = Int32Array.from({ length: Math.min(EMBED_ALL_CHUNK, N - a) }, (_, j) => a + j);
        out.set(await embed(items), a * meta.dim);
      }
      return out;
    },
  };
}

/** An item-tower session alone (the export computes the encoder's item table with it). */
export async function openItemTowerGraph(
  bytes: Uint8Array,
  meta: Pick<OnnxModelMeta, "items" | "dim">,
  threads = 1,
): Promise<OrtItemTower & { close(): Promise<void> }> {
  const session = await createSession(bytes, threads, "itemTower");
  return { ...itemTowerOf(session, meta), close: () => session.release() };
}

/** Opens graphs held in memory (tests, or an export not yet written). */
export async function openOnnxGraphs(
  graphs: OnnxGraphs,
  meta: OnnxModelMeta,
  version: string,
  opts: OpenOnnxOptions = {},
): Promise<OnnxModelHandle> {
  const threads = opts.threads ?? 1;
  requireInt(threads, 1, 256, "threads");
  requireInt(opts.onlineThreads ?? 1, 1, 256, "onlineThreads");
  const [encoder, online, itemTower] = await Promise.all([
    createSession(graphs.encoder, threads, "encoder"),
    createSession(graphs.online, opts.onlineThreads ?? 1, "online"),
    createSession(graphs.itemTower, threads, "itemTower"),
  ]);
  return {
    version,
    dim: meta.dim,
    maxLen: meta.maxLen,
    contextK: meta.contextK,
    meta,
    encoder: encoderOf(encoder, meta),
    online: onlineOf(online, meta),
    itemTower: itemTowerOf(itemTower, meta),
    async close() {
      await Promise.all([encoder.release(), online.release(), itemTower.release()]);
    },
  };
}

/**
 * Opens <modelDir>/onnx/*.onnx (exporting first if absent is NOT done here; see exportOnnx).
 * Refuses an export of another model version (CTXREC_ERR_ARTIFACT_VERSION) and a graph file whose
 * sha256 differs from the manifest (CTXREC_ERR_ARTIFACT_CORRUPT).
 */
export async function openOnnxModel(modelDir: string, opts?: OpenOnnxOptions): Promise<OnnxModelHandle> {
  const manifest = readOnnxManifest(modelDir);
  const graphs = Object.fromEntries(
    GRAPH_NAMES.map((name) => [name, readGraphFile(modelDir, manifest, name)]),
  ) as OnnxGraphs;
  return openOnnxGraphs(graphs, manifest, manifest.modelVersion, opts);
}
