/**
 * Right-padded sequence batches from event ranges (pure TypeScript, no tensors): what the encoder
 * reads for training (many positions per user) and for inference (the last L events). Dynamic
 * padding: Lb is the longest range of the batch, not L, so a batch of short sequences costs little.
 * Shapes: B rows, Lb padded length.
 */
import { requireArg } from "../core/errors.ts";
import { gapBucket, type SequenceInput } from "./encoder.ts";

/** Event arrays of a data set or of a history batch (positions index all three). */
export interface EventArrays {
  items: Int32Array;
  types: Int32Array;
  timestamps: Float64Array;
}

/** A batch ready for the encoder plus the item code of every slot. */
export interface SequenceBatch extends SequenceInput {
  /** [B·Lb] item code per slot (0 = padding). */
  items: Int32Array;
  /** [B] number of real events per row. */
  lengths: Int32Array;
}

/**
 * Rows b = events `starts[b] .. ends[b]-1` of `ev`, right-padded to the longest row (each row ≤
 * `maxLen`; callers cut ranges to L). `firsts[b]` is the first event of the row's user, so the
 * time gap of a row's first event uses the event before it when there is one.
 */
export function sequenceBatch(
  ev: EventArrays,
  starts: Int32Array,
  ends: Int32Array,
  firsts: Int32Array,
  maxLen: number,
): SequenceBatch {
  const B = starts.length;
  let len = 1;
  for (let b = 0; b < B; b++) {
    const n = ends[b] - starts[b];
    requireArg(
      n >= 0 && n <= maxLen,
      `ranges[${b}]`,
      `row has ${n} events; expected 0..${maxLen} (cut to the last L)`,
    );
    len = Math.max(len, n);
  }
  const items = new Int32Array(B * len);
  const types = new Int32Array(B * len);
  const gaps = new Int32Array(B * len);
  const mask = new Float32Array(B * len);
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const s = starts[b];
    lengths[b] = ends[b] - s;
    for (let t = 0; t < lengths[b]; t++) {
      const e = s + t;
      const o = b * len + t;
      items[o] = ev.items[e];
      types[o] = ev.types[e];
      gaps[o] = e > firsts[b] ? gapBucket(ev.timestamps[e] - ev.timestamps[e - 1]) : 1;
      mask[o] = 1;
    }
  }
  return { B, len, items, types, gaps, mask, lengths };
}
