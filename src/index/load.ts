/**
 * Loading an index artifact back into the implementation that wrote it, refusing one built for
 * another model version (CTXREC_ERR_ARTIFACT_VERSION) before the large sections are even parsed.
 */
import { CtxrecError } from "../core/errors.ts";
import { readIndexArtifact, readIndexManifest } from "./artifact.ts";
import { ExactIndex } from "./exact.ts";
import { HnswIndex } from "./hnsw.ts";
import { requireModelVersion, type VectorIndex } from "./vectorIndex.ts";

/** Arguments of `loadVectorIndex`. */
export interface LoadVectorIndexArgs {
  /** The model version the caller serves; the artifact must have been built for it. */
  modelVersion: string;
  /** HNSW only: ef to search with instead of the saved one. */
  efSearch?: number;
}

/** Reads `path` (see artifact.ts), checks format, version and integrity, and rebuilds the index. */
export function loadVectorIndex(path: string, args: LoadVectorIndexArgs): VectorIndex {
  // Header first: a version mismatch is reported without reading (and hashing) the whole file.
  requireModelVersion(readIndexManifest(path), args.modelVersion, path);
  const art = readIndexArtifact(path);
  requireModelVersion(art.manifest, args.modelVersion, path);
  if (art.manifest.kind === "exact") return ExactIndex.fromArtifact(art.manifest, art.vectors, art.ids);
  if (art.manifest.kind === "hnsw") {
    if (art.graph === undefined) {
      throw new CtxrecError("CTXREC_ERR_ARTIFACT_CORRUPT", "HNSW index without a graph section; rebuild it", {
        file: path,
      });
    }
    return HnswIndex.fromArtifact(art.manifest, art.vectors, art.ids, art.graph, args.efSearch);
  }
  throw new CtxrecError(
    "CTXREC_ERR_ARTIFACT_VERSION",
    `unknown index kind '${art.manifest.kind}'; this build reads 'exact' and 'hnsw'`,
    { file: path, field: "kind" },
  );
}
