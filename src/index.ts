/** Public library API of ctxrec. */
export * from "./core/errors.ts";
export * from "./core/rng.ts";
export * from "./core/shapes.ts";
// Data layer (src/data): schema, readers (loadDataset), compiled CSR dataset, binary artifact, splits, stats.
export * from "./data/artifact.ts";
export * from "./data/dataset.ts";
export * from "./data/load.ts";
export type { Category, DemographicField, Event, Item, User } from "./data/schema.ts";
export {
  categorySchema,
  DEMOGRAPHIC_FIELDS,
  eventSchema,
  itemSchema,
  timestampSchema,
  userSchema,
} from "./data/schema.ts";
export * from "./data/splits.ts";
export * from "./data/stats.ts";
export { MISSING, PAD, Vocab } from "./data/vocab.ts";
// Training engine (src/engine): tfjs-wasm set-up and kernel patches, blocks, sparse embeddings, leak guard.
export * from "./engine/attention.ts";
export * from "./engine/backend.ts";
export * from "./engine/blocks.ts";
export * from "./engine/dataParallel.ts";
export { assertHeapRoom, WASM_HEAP_MAX_BYTES } from "./engine/kernels/heapGuard.ts";
export {
  engineKernelsRegistered,
  registerEngineGradients,
  registerEngineKernels,
} from "./engine/kernels/index.ts";
export * from "./engine/leakGuard.ts";
export * from "./engine/linear.ts";
export * from "./engine/params.ts";
export * from "./engine/sparseEmbedding.ts";
export * from "./engine/trainStep.ts";
// Offline evaluation (src/eval): the scorer contract, the loo protocol, metrics, reference scorers, results.
export * from "./eval/baselines.ts";
export * from "./eval/exactScores.ts";
export * from "./eval/history.ts";
export * from "./eval/loo.ts";
export * from "./eval/metrics.ts";
export * from "./eval/ortScores.ts";
export { type PairedGain, pairedGain } from "./eval/pairedGain.ts";
export * from "./eval/result.ts";
export * from "./eval/scorer.ts";
export * from "./eval/staleContext.ts";
export { formatDuration, STALE_FIGURES } from "./eval/staleResult.ts";
// Funnel simulator (src/funnel): the CG contract a model plugs into, the reference CGs, the simulator.
// Funnel protocol with trained models (issue #6): model CGs, the Search surface, the r × seed sweep.
// Competing pools (issue #14 part 4): trained CGs only, pools merged, per-CG exclusive credit and marginal recall.
export type {
  CandidateGenerator,
  CandidateRequest,
  ContextCategory,
  FunnelRequest,
  QueryRequest,
  ResolvedSearchRequest,
  ScoredItem,
  SubjectItemRequest,
} from "./funnel/candidateGenerator.ts";
export { perRequestGenerator, toCandidateRequest } from "./funnel/candidateGenerator.ts";
export { type Catalog as FunnelCatalog, compileCatalog, isEligible } from "./funnel/catalog.ts";
export {
  type CompetitionSurfaceJson,
  type CompetitorInfo,
  competitionDocument,
  competitionMetricKeys,
  competitionMetricsJson,
  formatCompetitionTable,
  runCompetitionFunnel,
} from "./funnel/competition.ts";
export { type CgFolder, checkCgNames, type LoadedCg, loadCg, loadCgs } from "./funnel/competitors.ts";
export { checkCandidateGenerator } from "./funnel/contract.ts";
export { type Interval, meanInterval } from "./funnel/interval.ts";
export type { CgMetrics } from "./funnel/metrics.ts";
export {
  type FunnelSurfaces,
  LIFT_KEYS,
  MODEL_CG,
  type ModelFunnelArgs,
  type ModelLift,
  type ModelPair,
  modelFunnelDocument,
  modelLift,
  runModelFunnel,
} from "./funnel/modelFunnel.ts";
export {
  createModelGenerator,
  type ModelCgSpec,
  type ModelGeneratorArgs,
  modelCandidateGenerator,
  requestBatch,
} from "./funnel/modelGenerator.ts";
export { creditImpressions, exclusiveCounts, mergePools, type Pools, targetHits } from "./funnel/pools.ts";
export { createContextOnlyGenerator } from "./funnel/reference/contextOnly.ts";
export { createOracleGenerator } from "./funnel/reference/oracle.ts";
export { countEvents, createPopularityGenerator } from "./funnel/reference/popularity.ts";
export { createRandomGenerator } from "./funnel/reference/random.ts";
export {
  REFERENCE_CG_NAMES,
  type ReferenceFunnelArgs,
  type ReferenceFunnelReport,
  runReferenceFunnel,
  runWorldFunnel,
} from "./funnel/referenceFunnel.ts";
export { formatFunnelTable, funnelMetricsJson } from "./funnel/report.ts";
export {
  FUNNEL_DEFAULTS,
  type FunnelArgs,
  type FunnelReport,
  type FunnelWorld,
  simulateFunnel,
} from "./funnel/simulator.ts";
export { SURFACES, type Surface, searchFunnelRequests, surfaceRequests } from "./funnel/surface.ts";
export {
  type FunnelSweepArgs,
  type FunnelSweepResult,
  runFunnelSweep,
  type SweepRun,
} from "./funnel/sweep.ts";
export {
  formatCompetitionSweepTables,
  type SweepCompetitionSummary,
  summarizeCompetition,
} from "./funnel/sweepCompetition.ts";
export { formatSweepTables, type SweepGrid, summarizeSweep, sweepMetricKeys } from "./funnel/sweepSummary.ts";
export { type UtilityArgs, UtilityModel } from "./funnel/utility.ts";
// Vector index (src/index): inner-product top-K (exact reference, HNSW), eligibility filters, artifact, hot swap.
export { INDEX_FORMAT, readIndexManifest } from "./index/artifact.ts";
export { CountryEligibility, Eligibility } from "./index/eligibility.ts";
export { ExactIndex, type ExactIndexArgs } from "./index/exact.ts";
export { IndexHandle, type IndexVersion } from "./index/handle.ts";
export { HNSW_DEFAULTS, HnswIndex, type HnswIndexArgs } from "./index/hnsw.ts";
export { HNSW_BACKENDS, type HnswBackend } from "./index/hnswBackends.ts";
export { type LoadVectorIndexArgs, loadVectorIndex } from "./index/load.ts";
export { gaussianMixture, type MixtureArgs } from "./index/synthetic.ts";
export type { IndexManifest, ItemEmbeddings, SearchResult, VectorIndex } from "./index/vectorIndex.ts";
// Model (src/model): item tower, sequence encoder, context layer, fusion, artifact, eval scorer.
export * from "./model/artifact.ts";
export * from "./model/config.ts";
export { type ContextInput, contextLayer } from "./model/contextLayer.ts";
export { encodeSequence, GAP_BUCKETS, gapBucket, type SequenceInput } from "./model/encoder.ts";
export * from "./model/itemCountries.ts";
export { type ItemFeatures, itemFeaturesOf } from "./model/itemFeatures.ts";
export { allItemEmbeddings, itemTower } from "./model/itemTower.ts";
export {
  type CtxrecModel,
  createModel,
  disposeModel,
  itemReps,
  modelVariables,
  type RowContext,
  userStates,
} from "./model/model.ts";
export {
  type ContextEncoder,
  createModelScorer,
  embedHistories,
  type ModelScorerArgs,
  noContext,
} from "./model/scorer.ts";
export { type SequenceBatch, sequenceBatch } from "./model/sequences.ts";
export { vocabSizesOf } from "./model/vocabSizes.ts";
// Offline batch (src/offline): encode users into the feature store, index the item tower's catalogue.
export {
  type EncodeReport,
  type EncodeUsersArgs,
  encodeUsers,
  historyBatch,
  lastEventsBatch,
  type StateEncoder,
} from "./offline/encodeUsers.ts";
export {
  buildItemIndex,
  catalogueCountries,
  catalogueEmbeddings,
  type ItemCountryCsr,
  type ItemIndexArgs,
  measureRecall,
  type RecallReport,
  recallAgainstExact,
  sampleQueries,
} from "./offline/itemIndex.ts";
export { readModelVocabs, requireModelVocabs } from "./offline/modelData.ts";
export { parseSinceTime, usersToEncode } from "./offline/users.ts";
// ONNX (src/onnx): graph builder, exports of the encoder, online tower and item tower, onnxruntime sessions.
export {
  type AttrValue,
  type ElemType,
  GraphBuilder,
  IR_VERSION,
  OPSET,
  type ValueSpec,
} from "./onnx/builder.ts";
export { buildOnnxExport, DEFAULT_CONTEXT_K, exportOnnx, onnxModelMeta } from "./onnx/export.ts";
export {
  GRAPH_NAMES,
  type GraphEntry,
  type GraphName,
  ONNX_DIR,
  ONNX_FORMAT,
  ONNX_FORMAT_VERSION,
  type OnnxExportManifest,
  type OnnxModelMeta,
  readOnnxManifest,
} from "./onnx/manifest.ts";
export * from "./onnx/runtime.ts";
// Pipelines (src/pipeline): the one-command demo and the ablation grid, its rows and statistics.
export * from "./pipeline/ablationRows.ts";
export * from "./pipeline/ablationRun.ts";
export * from "./pipeline/ablationStats.ts";
export * from "./pipeline/ablationVariants.ts";
export * from "./pipeline/demo.ts";
export * from "./pipeline/evaluateStages.ts";
export * from "./pipeline/offlineStages.ts";
export * from "./pipeline/stages.ts";
export * from "./pipeline/trainModel.ts";
// Report (src/report): one self-contained HTML page from the result JSON of a runs folder (ctxrec report).
export {
  findInputFiles as findReportInputs,
  INPUT_PATTERNS as REPORT_INPUT_PATTERNS,
  loadRunInputs,
  type RunInputs,
} from "./report/discover.ts";
export {
  type AblationsFile as ReportAblationsInput,
  type InputKind as ReportInputKind,
  parseInput as parseReportInput,
} from "./report/inputs.ts";
export {
  type BuildReportArgs,
  type BuiltReport,
  buildReport,
  type WriteReportArgs,
  type WrittenReport,
  writeReport,
} from "./report/report.ts";
export {
  type CandidatesRequest,
  candidatesRequestSchema,
  DEFAULT_MAX_K,
  errorBodySchema,
  MAX_REQUEST_CATEGORIES,
} from "./serve/api.ts";
// Candidate service (src/serve): bundles (model + index + store version), request validation, the
// per-request path, Prometheus metrics, hot swap, the Fastify app.
export {
  type BundleOptions,
  type BundleSource,
  type CountryFilter,
  closeBundle,
  countryFilterForIndex,
  type ItemCountries,
  loadBundle,
  modelItemCountries,
  type ServeBundle,
} from "./serve/bundle.ts";
export {
  answerCandidates,
  type Candidate,
  type CandidatesResponse,
  embedRequest,
  type StageTimings,
} from "./serve/candidates.ts";
export { LOOPBACK_ADDRESSES, SERVE_LIMITS } from "./serve/limits.ts";
export { createServeMetrics, type ServeMetrics } from "./serve/metrics.ts";
export { formatOpenapi, openapiDocument } from "./serve/openapi.ts";
export { parseCandidatesRequest, type ResolvedRequest, resolveRequest } from "./serve/request.ts";
export {
  buildServer,
  type ErrorBody,
  errorReply,
  reloadOnSignal,
  type ServerOptions,
} from "./serve/server.ts";
export { BundleHandle, type BundleLoader, bundleLoader, type ReloadResult } from "./serve/swap.ts";
export { readServingTables, type ServingTables, servedDemographicFields } from "./serve/tables.ts";
export { openClusterStore } from "./store/cluster.ts";
// Feature store (src/store): cached user state per model version; SQLite (file:) and Redis (redis://).
export {
  createStoreCounters,
  type FeatureStore,
  type OpenStoreArgs,
  type StateEntry,
  type StoreCounters,
  type VersionInfo,
} from "./store/featureStore.ts";
export { listStoreVersions, openFeatureStore } from "./store/open.ts";
export { openRedisStore, type RedisStoreOptions } from "./store/redis.ts";
export { openSqliteStore } from "./store/sqlite.ts";
export * from "./store/url.ts";
// Streaming state refresh (src/stream): a Redis Stream consumer group re-encoding touched users.
export {
  isRetryable,
  requireActiveVersion,
  StreamConsumer,
  type StreamConsumerArgs,
  type StreamConsumerDeps,
} from "./stream/consumer.ts";
export {
  type EntryRules,
  entryRules,
  type MalformedEntry,
  parseEntry,
  type StreamEvent,
} from "./stream/entry.ts";
export { EventLog, type EventLogArgs, type LoggedEvent, type UserLog } from "./stream/eventLog.ts";
export { type EventsUrl, parseEventsUrl } from "./stream/eventsUrl.ts";
export { codeMaps, logBatch } from "./stream/history.ts";
export { type RefreshReport, refreshUsers } from "./stream/refresh.ts";
export { datasetSeeder, type Seeder } from "./stream/seed.ts";
export { createStreamStats, type StreamStats, statsLine } from "./stream/stats.ts";
// Synthetic Related-Items world (src/synth): generator, presets and parameters, reader, statistics.
export { type GenerateWorldArgs, generateWorld } from "./synth/generate.ts";
export {
  PARAM_SPECS,
  type ParamName,
  type ParamOverrides,
  PRESET_NAMES,
  type PresetName,
  presetParams,
  resolveParams,
  type WorldParams,
} from "./synth/params.ts";
export { readManifest, readWorld, readWorldEvents } from "./synth/read.ts";
export { buildLexicon, drawQuery, queryCategories, writeSearchSurface } from "./synth/search.ts";
export { type WorldStats, worldStats } from "./synth/stats.ts";
export * from "./synth/types.ts";
// Training (src/train): sampled softmax with logQ correction, mixed negatives, pseudo-context;
// examples with dynamic padding, the training loop and its arguments.
export * from "./train/context.ts";
export * from "./train/contextEncoder.ts";
export * from "./train/examples.ts";
export * from "./train/loss.ts";
export * from "./train/lossCandidates.ts";
export * from "./train/lossLogits.ts";
export * from "./train/trainArgs.ts";
export * from "./train/trainer.ts";
