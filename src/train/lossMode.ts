/**
 * Which retrieval loss a training run uses, and how many positions a batch may hold under it.
 *
 * The rule (`--loss auto`, the default): the exact full softmax (`lossFull.ts`) when the catalogue
 * has at most FULL_SOFTMAX_MAX_ITEMS items, the sampled softmax with mixed negatives (`loss.ts`)
 * above. Under the full softmax every step materialises [R, N − 1] logits (and about five tensors
 * of that size on the tape), so a batch is also capped at FULL_SOFTMAX_LOGITS / N positions: rows
 * of long histories then come in batches of fewer users. At the threshold a batch still holds
 * 2^24 / 2^16 = 256 positions (five full-length rows at L 50); a larger catalogue would shrink
 * batches below what Adam trains well on, and its step would cost more than the encoder.
 * Measured on this 2-core machine: Amazon Beauty (12,101 items) and ML-100K (1,683) train under the
 * full softmax (docs/training.md).
 */
import { requireArg } from "../core/errors.ts";

/** What `--loss` accepts. */
export const LOSS_CHOICES = ["auto", "full", "sampled"] as const;
export type LossChoice = (typeof LOSS_CHOICES)[number];
/** What a run resolves to. */
export type LossMode = "full" | "sampled";

/** Largest catalogue (item vocabulary, padding included) that `auto` trains with the full softmax. */
export const FULL_SOFTMAX_MAX_ITEMS = 2 ** 16;
/**
 * Most logits one full-softmax step may hold ([R, N − 1] floats: 64 MiB). About five tensors of
 * this size live on the tape at once, well inside the 4 GiB wasm heap with the rest of the model.
 */
export const FULL_SOFTMAX_LOGITS = 2 ** 24;

/** The loss mode of a run: `choice` with `auto` resolved by the catalogue size `numItems`. */
export function resolveLossMode(choice: LossChoice, numItems: number): LossMode {
  requireArg(
    (LOSS_CHOICES as readonly string[]).includes(choice),
    "loss",
    `expected "auto", "full" or "sampled", got ${choice}`,
  );
  if (choice !== "auto") return choice;
  return numItems <= FULL_SOFTMAX_MAX_ITEMS ? "full" : "sampled";
}

/**
 * Most real positions per batch under `mode` (Infinity for the sampled softmax, whose logits are
 * bounded by its candidate count instead). Never below one full-length row, so every row fits.
 */
export function maxBatchPositions(mode: LossMode, numItems: number, maxLen: number): number {
  if (mode === "sampled") return Number.POSITIVE_INFINITY;
  return Math.max(maxLen, Math.floor(FULL_SOFTMAX_LOGITS / Math.max(1, numItems - 1)));
}
