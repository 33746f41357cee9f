/**
 * The index artifact: ONE file holding the manifest, the item ids, the item vectors and (for an
 * approximate index) the native graph, written atomically (temp file + fsync + rename) so a reader
 * sees the previous complete file or the new complete file, never a half-written one. One file
 * rather than a folder because rename(2) replaces a file atomically; replacing a folder cannot be.
 *
 * The file is a ctxrec container (magic "CTXRECVI", layout in src/core/container.ts): the header is
 * the manifest; the sections are `ids` (JSON array), `vectors` (`[N, d]` f32) and `graph`.
 */
import {
  bytesOf,
  type ContainerKind,
  readContainer,
  readContainerHeader,
  writeContainer,
} from "../core/container.ts";
import { CtxrecError, wrapError } from "../core/errors.ts";
import type { IndexManifest } from "./vectorIndex.ts";

export const INDEX_MAGIC = "CTXRECVI";
export const INDEX_FORMAT = 1;

const KIND: ContainerKind = {
  magic: INDEX_MAGIC,
  format: INDEX_FORMAT,
  name: "index",
  rebuild: "rebuild the index with `ctxrec index`",
};

/** The parts of an index artifact. */
export interface IndexArtifact {
  manifest: IndexManifest;
  ids: string[];
  /** `[N, d]` float32. */
  vectors: Float32Array;
  /** Native graph bytes of an approximate index (library-specific format). */
  graph?: Uint8Array;
}

/** Writes `art` to `path` atomically. */
export function writeIndexArtifact(path: string, art: IndexArtifact): void {
  const sections: [string, Uint8Array][] = [
    ["ids", Buffer.from(JSON.stringify(art.ids), "utf8")],
    ["vectors", bytesOf(art.vectors)],
  ];
  if (art.graph !== undefined) sections.push(["graph", art.graph]);
  try {
    writeContainer(path, KIND, art.manifest, sections);
  } catch (err) {
    throw wrapError(
      "CTXREC_ERR_STORE",
      err,
      `could not write the index to ${path}; check the folder exists and is writable`,
    );
  }
}

/** Reads the header only (manifest), checking magic and format: cheap, for `info` and version checks. */
export function readIndexManifest(path: string): IndexManifest {
  return readContainerHeader<IndexManifest>(path, KIND);
}

/** Reads and verifies (magic, format, sha256, sizes) a whole artifact. */
export function readIndexArtifact(path: string): IndexArtifact {
  const c = readContainer<IndexManifest>(path, KIND);
  const manifest = c.header;
  const ids = JSON.parse(Buffer.from(c.section("ids")).toString("utf8")) as string[];
  const vb = c.section("vectors");
  // Copy into a fresh, aligned buffer: the file buffer is released and Float32Array needs 4-byte alignment.
  const vectors = new Float32Array(vb.byteLength / 4);
  new Uint8Array(vectors.buffer).set(vb);
  if (ids.length !== manifest.count || vectors.length !== manifest.count * manifest.dim) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_CORRUPT",
      `holds ${ids.length} ids and ${vectors.length} values for N=${manifest.count}, d=${manifest.dim}; ${KIND.rebuild}`,
      { file: path },
    );
  }
  const graph = c.has("graph") ? new Uint8Array(c.section("graph")) : undefined;
  return { manifest, ids, vectors, ...(graph ? { graph } : {}) };
}
