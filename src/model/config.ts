/**
 * Typed configuration of the contextual sequential two-tower model, one `XArgs` per component
 * (tfjs-layers style): every field has its default in the JSDoc and in `MODEL_DEFAULTS`, and
 * `resolveModelConfig` validates once at the edge (CLI, artifact load) so components receive a
 * complete, checked slice. Shapes: B batch, L history length, d width, C categories, N items.
 */
import { requireArg, requireChoice } from "../core/errors.ts";

/** Item tower `f(item) → R^d`, shared by the history and the retrieval side. */
export interface ItemTowerArgs {
  /** Add Σ conf·category_emb to the id embedding (default true; a no-op for items without categories). */
  categories: boolean;
  /** Apply a residual MLP (d → d, ReLU) after the sum (default false: measured no gain, costs time). */
  mlp: boolean;
  /** L2-normalise item (and user) embeddings; pair with a temperature < 1 (default false). */
  l2Normalize: boolean;
}

/** Sequence encoder: item reps + positions (+ types, time gaps) → N pre-norm causal blocks. */
export interface EncoderArgs {
  /** Width d (default 64). */
  dim: number;
  /** Number of Transformer blocks (default 2). */
  blocks: number;
  /** Attention heads; d must be divisible by it (default 2). */
  heads: number;
  /** Feed-forward width (default 4·d = 256). */
  ffn: number;
  /** History length L: the last L events are encoded (default 50). */
  maxLen: number;
  /**
   * Dropout on embeddings, attention weights and block outputs during training (default 0.5, as
   * SASRec on sparse data: under the full softmax, 0.3 overfits Beauty from epoch 9 and ML-100K
   * from epoch 25; see docs/training.md).
   */
  dropout: number;
  /** Add an event-type embedding when the data has more than one event type (default true). */
  eventTypes: boolean;
  /** Add a log₂ time-gap bucket embedding when the data has real timestamps (default true). */
  timeGaps: boolean;
  /**
   * Block layout (default "pre-norm"): "pre-norm" h = x + drop(Attn(LN₁x)), y = h + drop(FFN(LN₂h));
   * "sasrec" as Kang & McAuley's code: q = LN₁x, h = q + Attn(q; keys, values x), z = LN₂h,
   * y = z + drop(FFN(z)) (the residual stream re-normalised in every block, no dropout on Attn's output).
   */
  block: EncoderBlock;
  /**
   * Initial scale of the embedding tables (default "scaled"): "scaled" ids and categories
   * N(0, 1/d), positions, types and gaps N(0, 0.02²); "xavier" every table N(0, 2/(rows + d)),
   * as SASRec's PyTorch port (small item vectors, positions of the same order as the √d-scaled items).
   */
  init: EmbeddingInit;
  /**
   * Where position indices are anchored (default "start"): "start" event t of a row takes
   * position t; "end" a row of n events takes positions L − n … L − 1, so its latest event is
   * always at L − 1, as in SASRec's left-padded rows. Under "end" the position embedding says
   * how recent an event is rather than how early in the history it came.
   */
  positions: PositionAnchor;
}

export const POSITION_ANCHORS = ["start", "end"] as const;
export type PositionAnchor = (typeof POSITION_ANCHORS)[number];

export const ENCODER_BLOCKS = ["pre-norm", "sasrec"] as const;
export type EncoderBlock = (typeof ENCODER_BLOCKS)[number];
export const EMBEDDING_INITS = ["scaled", "xavier"] as const;
export type EmbeddingInit = (typeof EMBEDDING_INITS)[number];

/** Standard deviation of a [rows, d] embedding table's initial values under `init`. */
export function embeddingInitStd(init: EmbeddingInit, rows: number, d: number, scaledStd: number): number {
  return init === "xavier" ? Math.sqrt(2 / (rows + d)) : scaledStd;
}

/** How the context layer projects the weighted categories. */
export const CONTEXT_PROJECTIONS = ["mean", "sum", "attention", "learned"] as const;
export type ContextProjection = (typeof CONTEXT_PROJECTIONS)[number];

/** Context layer: subject-item categories × weights (+ demographics) → Dense + dropout → R^{dc}. */
export interface ContextLayerArgs {
  /** Turn the context layer on (default true). Off = the non-contextual baseline (same code path). */
  enabled: boolean;
  /** Output width dc (default 64). */
  dim: number;
  /** Category projection (default "mean": Σ w_k·emb_k with weights normalised to sum 1). */
  projection: ContextProjection;
  /** Include demographic embeddings (each field has its own "missing" code) (default true). */
  demographics: boolean;
  /** Width of each demographic embedding (default 8). */
  demographicDim: number;
  /**
   * Dropout on the context output during training (default 0). The original (and DESIGN) put a
   * high dropout here (0.5–0.8) so that the model keeps using the history. With the second,
   * no-context loss (TRAIN_DEFAULTS.noContextWeight 1, scope "context") the history is trained
   * exactly as the baseline's whatever the context does, and the dropout only weakens the
   * context: `npm run bench:ablations` measured stale-context NDCG@10 0.3382 / 0.3354 / 0.3080 at
   * dropout 0 / 0.3 / 0.8 with no-context NDCG@10 unchanged within ±0.0015 (docs/training.md).
   */
  dropout: number;
  /**
   * Also feed the subject item's own item-tower vector v_subject (d) to the context layer, beside
   * its categories (default false; issue #11 part 5). The id says far more about what comes next
   * than the item's categories, but only a context whose subject is a real EARLIER event may carry
   * it: training needs `--context-source stale-state` (a pseudo-context from the positive would hand
   * the model its own target). Not exportable to ONNX yet (the online graph has no item vector input).
   */
  subjectItem: boolean;
}

export const FUSIONS = ["concat", "cross-attention"] as const;
export type Fusion = (typeof FUSIONS)[number];

/** Fusion of the sequence state and the context into the user embedding. */
export interface FusionArgs {
  /** "concat" (default): concat(h, ctx) → MLP; "cross-attention": the context queries the sequence outputs first. */
  kind: Fusion;
  /** Hidden width of the MLP head (default 128). */
  hidden: number;
}

export const TOWERS = ["mlp", "dcnv2"] as const;
export type Tower = (typeof TOWERS)[number];

/**
 * Tower structure of the user head and the item tower (src/model/cross.ts). "mlp" (default): the
 * MLP alone. "dcnv2" (Wang et al., DCN-V2, WWW 2021, parallel structure): stacked cross layers
 * x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + x_l beside the MLP, both outputs concatenated and projected to d.
 */
export interface TowerArgs {
  /** "mlp" (default) or "dcnv2". */
  kind: Tower;
  /** Cross layers in the stack (default 2). */
  crossLayers: number;
  /** Rank r of W_l = U_l V_lᵀ (one expert, no mixture); 0 = full rank [d0, d0] (default 0). */
  crossRank: number;
}

export const TOWER_DEFAULTS: TowerArgs = { kind: "mlp", crossLayers: 2, crossRank: 0 };

export interface ModelConfig {
  itemTower: ItemTowerArgs;
  encoder: EncoderArgs;
  context: ContextLayerArgs;
  fusion: FusionArgs;
  /**
   * Present only for kind "dcnv2": absent = "mlp", so an mlp model's config (and its artifact's
   * content hash) is exactly what it was before DCNv2, and an artifact written before it reads as mlp.
   */
  tower?: TowerArgs;
}

/** The documented default configuration (README / docs/training.md). */
export const MODEL_DEFAULTS: ModelConfig = {
  itemTower: { categories: true, mlp: false, l2Normalize: false },
  encoder: {
    dim: 64,
    blocks: 2,
    heads: 2,
    ffn: 256,
    maxLen: 50,
    dropout: 0.5,
    eventTypes: true,
    timeGaps: true,
    block: "pre-norm",
    init: "scaled",
    positions: "start",
  },
  context: {
    enabled: true,
    dim: 64,
    projection: "mean",
    demographics: true,
    demographicDim: 8,
    dropout: 0,
    subjectItem: false,
  },
  fusion: { kind: "concat", hidden: 128 },
};

/** Partial overrides, one level deep. */
export type ModelConfigOverrides = { [K in keyof ModelConfig]?: Partial<NonNullable<ModelConfig[K]>> };

const isPosInt = (x: number) => Number.isInteger(x) && x >= 1;
const isRate = (x: number) => Number.isFinite(x) && x >= 0 && x < 1;

/** Defaults + overrides, validated (CTXREC_ERR_ARG naming the field). */
export function resolveModelConfig(over: ModelConfigOverrides = {}): ModelConfig {
  const c: ModelConfig = {
    itemTower: { ...MODEL_DEFAULTS.itemTower, ...over.itemTower },
    encoder: { ...MODEL_DEFAULTS.encoder, ...over.encoder },
    context: { ...MODEL_DEFAULTS.context, ...over.context },
    fusion: { ...MODEL_DEFAULTS.fusion, ...over.fusion },
  };
  const e = c.encoder;
  for (const k of ["dim", "blocks", "heads", "ffn", "maxLen"] as const) {
    requireArg(isPosInt(e[k]), `encoder.${k}`, `expected an integer ≥ 1, got ${e[k]}`);
  }
  requireArg(e.dim % e.heads === 0, "encoder.heads", `width ${e.dim} is not divisible by ${e.heads} heads`);
  requireArg(isRate(e.dropout), "encoder.dropout", `expected a rate in [0, 1), got ${e.dropout}`);
  requireChoice(e.block, ENCODER_BLOCKS, "encoder.block");
  requireChoice(e.init, EMBEDDING_INITS, "encoder.init");
  requireChoice(e.positions, POSITION_ANCHORS, "encoder.positions");
  requireArg(isPosInt(c.context.dim), "context.dim", `expected an integer ≥ 1, got ${c.context.dim}`);
  requireArg(
    isPosInt(c.context.demographicDim),
    "context.demographicDim",
    `expected an integer ≥ 1, got ${c.context.demographicDim}`,
  );
  requireArg(
    isRate(c.context.dropout),
    "context.dropout",
    `expected a rate in [0, 1), got ${c.context.dropout}`,
  );
  requireChoice(c.context.projection, CONTEXT_PROJECTIONS, "context.projection");
  requireArg(
    typeof c.context.subjectItem === "boolean",
    "context.subjectItem",
    `expected true or false, got ${String(c.context.subjectItem)}`,
  );
  requireChoice(c.fusion.kind, FUSIONS, "fusion.kind");
  requireArg(isPosInt(c.fusion.hidden), "fusion.hidden", `expected an integer ≥ 1, got ${c.fusion.hidden}`);
  const tower = resolveTowerArgs(over.tower);
  return tower.kind === "mlp" ? c : { ...c, tower };
}

/** Tower defaults + overrides, validated; cross-layer options without kind "dcnv2" are refused. */
export function resolveTowerArgs(over: Partial<TowerArgs> = {}): TowerArgs {
  const t: TowerArgs = { ...TOWER_DEFAULTS, ...over };
  requireChoice(t.kind, TOWERS, "tower.kind");
  requireArg(isPosInt(t.crossLayers), "tower.crossLayers", `expected an integer ≥ 1, got ${t.crossLayers}`);
  requireArg(
    Number.isInteger(t.crossRank) && t.crossRank >= 0,
    "tower.crossRank",
    `expected an integer ≥ 0 (0 = full rank), got ${t.crossRank}`,
  );
  requireArg(
    t.kind === "dcnv2" || (over.crossLayers === undefined && over.crossRank === undefined),
    "tower.kind",
    'cross-layer options (crossLayers, crossRank) need kind "dcnv2" (--tower dcnv2)',
  );
  return t;
}

/** Vocabulary sizes the model's tables are built for (from the data set; stored in the manifest). */
export interface VocabSizes {
  /** N: items + padding row 0. */
  items: number;
  /** C: categories + padding row 0. */
  categories: number;
  /** Event types (0 padding, 1 no type). */
  types: number;
  /** Per demographic field: codes (0 padding, 1 missing). */
  demographics: Record<string, number>;
  /** Whether the data has real (varying) time gaps; decides if the gap embedding is built. */
  hasTimeGaps: boolean;
}
