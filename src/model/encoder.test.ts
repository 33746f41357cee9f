import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { initEngine } from "../engine/backend.ts";
import { type EncoderArgs, MODEL_DEFAULTS } from "./config.ts";
import {
  type EncoderParams,
  encoderVariables,
  encodeSequence,
  endAnchoredPositions,
  initEncoder,
  type SequenceInput,
} from "./encoder.ts";

const sizes = { items: 20, categories: 4, types: 2, demographics: {}, hasTimeGaps: false };

const made: EncoderParams[] = [];

/** The same seeded weights under either anchor (a fresh variable prefix each: tfjs names are global). */
function encoder(positions: EncoderArgs["positions"]): EncoderParams {
  const args: EncoderArgs = { ...MODEL_DEFAULTS.encoder, dim: 8, heads: 2, ffn: 16, maxLen: 6, positions };
  const p = initEncoder(args, sizes, new Rng(3), `anchors${made.length}/`);
  made.push(p);
  return p;
}

/** Right-padded rows of the given lengths at padded length `len`, with seeded item vectors [B·len, 8]. */
function batch(
  lengths: number[],
  len: number,
  vectors: Float32Array[],
): { input: SequenceInput; items: tf.Tensor2D } {
  const B = lengths.length;
  const mask = new Float32Array(B * len);
  const items = new Float32Array(B * len * 8);
  lengths.forEach((n, b) => {
    for (let t = 0; t < n; t++) {
      mask[b * len + t] = 1;
      items.set(vectors[t], (b * len + t) * 8);
    }
  });
  const zeros = new Int32Array(B * len);
  return { input: { B, len, mask, types: zeros, gaps: zeros }, items: tf.tensor2d(items, [B * len, 8]) };
}

/** The state at row `b`'s last event, [8]. */
function lastState(p: EncoderParams, lengths: number[], len: number, b: number, vectors: Float32Array[]) {
  return tf.tidy(() => {
    const { input, items } = batch(lengths, len, vectors);
    const h = encodeSequence(p, input, items, undefined);
    return Array.from(tf.slice(h, [b, lengths[b] - 1, 0], [1, 1, 8]).dataSync());
  });
}

describe("position anchors", () => {
  beforeAll(async () => {
    await initEngine();
  });
  const rng = new Rng(5);
  const vectors = Array.from({ length: 6 }, () => Float32Array.from({ length: 8 }, () => rng.normal()));
  afterAll(() => {
    for (const p of made) for (const v of encoderVariables(p)) v.dispose();
  });

  it("end-anchored indices: a row of n events takes L − n … L − 1, padding L − 1", () => {
    const mask = Float32Array.from([1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(Array.from(endAnchoredPositions(mask, 4, 4, 6))).toEqual([
      3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 2, 3, 4, 5,
    ]);
  });

  it("end-anchored: a row's state does not depend on the batch's padded length", () => {
    const p = encoder("end");
    // Row [v0, v1] alone and row [v0, v1] beside a longer one: same state (padding-independent).
    const alone = lastState(p, [2], 2, 0, vectors);
    const beside = lastState(p, [5, 2], 5, 1, vectors);
    for (let i = 0; i < 8; i++) expect(beside[i]).toBeCloseTo(alone[i], 5);
  });

  it("the anchor changes the state of a row shorter than L (and is a no-op for a full row)", () => {
    const start = encoder("start");
    const end = encoder("end");
    const short = [lastState(start, [3], 3, 0, vectors), lastState(end, [3], 3, 0, vectors)];
    expect(Math.max(...short[0].map((x, i) => Math.abs(x - short[1][i])))).toBeGreaterThan(1e-3);
    const full = [lastState(start, [6], 6, 0, vectors), lastState(end, [6], 6, 0, vectors)];
    for (let i = 0; i < 8; i++) expect(full[1][i]).toBeCloseTo(full[0][i], 5);
  });
});
