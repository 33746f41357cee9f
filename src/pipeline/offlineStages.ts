/**
 * The offline batch of a pipeline, in process: encode every user's state into a feature store
 * and build the item index, from a model folder's ONNX export (what `ctxrec encode` and
 * `ctxrec index --model` do, without the CLI around them).
 */
import type { CompiledDataset } from "../data/dataset.ts";
import { type EncodeReport, encodeIntoStore } from "../offline/encodeUsers.ts";
import { buildItemIndex, catalogueEmbeddings, recallAgainstExact } from "../offline/itemIndex.ts";
import { openOnnxModel } from "../onnx/runtime.ts";
import type { StageProgress } from "./stages.ts";

/** onnxruntime / usearch threads: the machine the demo targets has 2 cores. */
const THREADS = 2;

/** Encodes every user of `ds` with `modelDir`'s encoder into the store at `storeUrl` and activates the version. */
export async function encodeToStore(
  ds: CompiledDataset,
  modelDir: string,
  storeUrl: string,
  progress: StageProgress = () => {},
): Promise<EncodeReport & { modelVersion: string }> {
  const handle = await openOnnxModel(modelDir, { threads: THREADS });
  try {
    const report = await encodeIntoStore(ds, handle, storeUrl, { onProgress: progress });
    return { ...report, modelVersion: handle.version };
  } finally {
    await handle.close();
  }
}

/** What building the item index measured. */
export interface IndexReport {
  items: number;
  dim: number;
  buildSeconds: number;
  /** HNSW recall@10 against exact search over item-embedding queries, unfiltered and with a country filter. */
  recall10: number;
  filteredRecall10?: number;
  queries: number;
}

/**
 * Runs `modelDir`'s item tower over the catalogue, builds an HNSW index (defaults of
 * `ctxrec index --model`), saves it to `file` and measures its recall@10 against exact search.
 */
export async function buildIndexFile(
  ds: CompiledDataset,
  modelDir: string,
  file: string,
  progress: StageProgress = () => {},
): Promise<IndexReport> {
  const handle = await openOnnxModel(modelDir, { threads: THREADS });
  let vectors: Float32Array;
  let version: string;
  let dim: number;
  try {
    vectors = await handle.itemTower.embedAll();
    version = handle.version;
    dim = handle.dim;
  } finally {
    await handle.close();
  }
  const items = catalogueEmbeddings(vectors, ds.itemVocab.names, dim);
  const { index, seconds } = buildItemIndex(items, {
    kind: "hnsw",
    modelVersion: version,
    threads: THREADS,
    onProgress: progress,
  });
  index.save(file);
  const r = recallAgainstExact(index, items, { ds });
  return {
    items: items.ids.length,
    dim,
    buildSeconds: seconds,
    recall10: r.recall,
    filteredRecall10: r.filteredRecall,
    queries: r.queries,
  };
}
