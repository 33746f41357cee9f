/** Seeded initialisers for trainable weights (all randomness from `Rng`: same seed ⇒ same weights). */
import * as tf from "@tensorflow/tfjs-core";
import type { Rng } from "../core/rng.ts";

/** Glorot-uniform [rows, cols] matrix drawn from `rng` (same seed ⇒ same weights). */
export function glorotUniform(rows: number, cols: number, rng: Rng): Float32Array {
  const limit = Math.sqrt(6 / (rows + cols));
  const w = new Float32Array(rows * cols);
  for (let i = 0; i < w.length; i++) w[i] = (rng.float() * 2 - 1) * limit;
  return w;
}

/** A trainable [rows, cols] variable with Glorot-uniform values. */
export function glorotVariable(rows: number, cols: number, rng: Rng, name: string): tf.Variable<tf.Rank.R2> {
  return tf.variable(tf.tensor2d(glorotUniform(rows, cols, rng), [rows, cols]), true, name);
}

/** A trainable [n] variable filled with `value`. */
export function constVariable(n: number, value: number, name: string): tf.Variable<tf.Rank.R1> {
  return tf.variable(tf.fill([n], value) as tf.Tensor1D, true, name);
}
