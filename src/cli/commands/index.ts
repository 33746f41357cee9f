/**
 * `ctxrec index`: builds the vector index over item embeddings and inspects one.
 *
 *   ctxrec index build --vectors items.f32 --ids items.txt --dim 64 --model-version V --out items.ctxidx
 *   ctxrec index build --synthetic 100000 --dim 64 --model-version demo --out items.ctxidx
 *   ctxrec index info items.ctxidx
 *   ctxrec index --model DIR --out items.ctxidx [--kind hnsw|exact] [data flags]
 *
 * Input: `--vectors` is raw little-endian float32, row-major `[N, d]` (what the item tower writes);
 * `--ids` one item id per line, in row order. `--synthetic N` draws clustered embeddings instead
 * (src/index/synthetic.ts), for trying the index and the service without a trained model.
 * `--model DIR` runs the model's ONNX item tower over its catalogue instead (src/offline/itemIndex.ts)
 * and reports build time and recall@10 against exact search.
 */
import { readFileSync, statSync } from "node:fs";
import type { Command } from "commander";
import { CtxrecError } from "../../core/errors.ts";
import { readIndexManifest } from "../../index/artifact.ts";
import { ExactIndex } from "../../index/exact.ts";
import { HNSW_DEFAULTS, HnswIndex } from "../../index/hnsw.ts";
import { HNSW_BACKENDS, type HnswBackend } from "../../index/hnswBackends.ts";
import { gaussianMixture, syntheticIds } from "../../index/synthetic.ts";
import type { ItemEmbeddings } from "../../index/vectorIndex.ts";
import { formatCount, toNumber, toOptionalNumber } from "../numbers.ts";
import { progressBar } from "../progress.ts";
import { registerIndexModelAction } from "./indexModel.ts";

interface BuildOptions {
  vectors?: string;
  ids?: string;
  synthetic?: string;
  dim: string;
  modelVersion: string;
  out: string;
  kind: string;
  backend: string;
  m?: string;
  efConstruction?: string;
  efSearch?: string;
  mips?: boolean;
  threads?: string;
  seed: string;
}

/** Reads `[N, d]` float32 vectors and N ids, checking that the two agree. */
function readEmbeddings(vectorsPath: string, idsPath: string, dim: number): ItemEmbeddings {
  for (const [p, flag] of [
    [vectorsPath, "--vectors"],
    [idsPath, "--ids"],
  ]) {
    try {
      statSync(p);
    } catch {
      throw new CtxrecError("CTXREC_ERR_DATA_MISSING_FILE", `${p} does not exist`, { param: flag });
    }
  }
  const bytes = readFileSync(vectorsPath);
  if (bytes.length % (4 * dim) !== 0) {
    throw new CtxrecError(
      "CTXREC_ERR_SHAPE",
      `${bytes.length} bytes is not a whole number of float32 rows of d = ${dim}; check --dim`,
      { file: vectorsPath },
    );
  }
  const vectors = new Float32Array(bytes.length / 4);
  new Uint8Array(vectors.buffer).set(bytes);
  const ids = readFileSync(idsPath, "utf8").split("\n");
  if (ids.at(-1) === "") ids.pop();
  if (ids.length !== vectors.length / dim) {
    throw new CtxrecError(
      "CTXREC_ERR_SHAPE",
      `${ids.length} ids for ${vectors.length / dim} vectors; give one id per line in row order`,
      { file: idsPath },
    );
  }
  return { vectors, ids, dim };
}

export function registerIndexCommand(program: Command): void {
  const index = program
    .command("index")
    .description("build and inspect the ANN vector index over item embeddings");
  registerIndexModelAction(program, index);

  index
    .command("build")
    .description("build an inner-product index (HNSW by default) and write it atomically")
    .option("--vectors <file>", "item embeddings: raw little-endian float32 [N, d]")
    .option("--ids <file>", "item ids, one per line in row order")
    .option("--synthetic <n>", "index N synthetic clustered embeddings instead of --vectors/--ids")
    .option("--dim <d>", "embedding width d", "64")
    .requiredOption("--model-version <v>", "version of the model whose item tower made the vectors")
    .requiredOption("--out <file>", "index file to write (replaced atomically)")
    .option("--kind <kind>", "hnsw | exact", "hnsw")
    .option("--backend <name>", `HNSW library: ${HNSW_BACKENDS.join(" | ")}`, HNSW_DEFAULTS.backend)
    .option("--m <n>", `HNSW links per node (default ${HNSW_DEFAULTS.m})`)
    .option("--ef-construction <n>", `HNSW build candidate list (default ${HNSW_DEFAULTS.efConstruction})`)
    .option("--ef-search <n>", `HNSW search candidate list (default ${HNSW_DEFAULTS.efSearch})`)
    .option("--mips", "apply the MIPS norm-equalising transform (measured worse; see docs/vector-index.md)")
    .option("--threads <n>", "usearch build threads (0 = all cores)")
    .option("--seed <n>", "seed (synthetic data, hnswlib levels)", "0")
    .action((opts: BuildOptions) => {
      const dim = toNumber(opts.dim, "--dim");
      const seed = toNumber(opts.seed, "--seed");
      if (opts.kind !== "hnsw" && opts.kind !== "exact") {
        throw new CtxrecError("CTXREC_ERR_ARG", `'${opts.kind}' is not hnsw or exact`, { param: "--kind" });
      }
      let items: ItemEmbeddings;
      if (opts.synthetic !== undefined) {
        const n = toNumber(opts.synthetic, "--synthetic");
        items = { vectors: gaussianMixture({ n, dim, seed, clusters: 256 }), ids: syntheticIds(n), dim };
      } else if (opts.vectors !== undefined && opts.ids !== undefined) {
        items = readEmbeddings(opts.vectors, opts.ids, dim);
      } else {
        throw new CtxrecError("CTXREC_ERR_ARG", "give --vectors and --ids, or --synthetic N", {
          param: "--vectors",
        });
      }
      const started = performance.now();
      const bar = progressBar("index", "items");
      let built: ExactIndex | HnswIndex;
      try {
        built =
          opts.kind === "exact"
            ? ExactIndex.build(items, { modelVersion: opts.modelVersion })
            : HnswIndex.build(items, {
                modelVersion: opts.modelVersion,
                backend: opts.backend as HnswBackend,
                m: toOptionalNumber(opts.m, "--m"),
                efConstruction: toOptionalNumber(opts.efConstruction, "--ef-construction"),
                efSearch: toOptionalNumber(opts.efSearch, "--ef-search"),
                mips: opts.mips ?? false,
                threads: toOptionalNumber(opts.threads, "--threads"),
                seed,
                onProgress: (done, total) => bar.update(done, total),
              });
      } finally {
        bar.stop();
      }
      const buildS = (performance.now() - started) / 1000;
      built.save(opts.out);
      process.stdout.write(
        `${opts.kind} index: ${formatCount(built.size)} items × d=${built.dim}, model ${opts.modelVersion}, ` +
          `built in ${buildS.toFixed(2)} s → ${opts.out} (${(statSync(opts.out).size / 2 ** 20).toFixed(1)} MiB)\n`,
      );
    });

  index
    .command("info")
    .description("print an index file's manifest (kind, model version, N, d, parameters)")
    .argument("<file>", "index file")
    .action((file: string) => {
      process.stdout.write(`${JSON.stringify(readIndexManifest(file), null, 2)}\n`);
    });
}
