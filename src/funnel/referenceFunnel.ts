/**
 * The funnel with the four reference CGs (random, popularity, context-only, oracle) on a world:
 * compiles the catalogue, counts conversions for the popularity CG, and runs the simulator.
 */
import { readWorldEvents } from "../synth/read.ts";
import type { World } from "../synth/types.ts";
import type { CandidateGenerator } from "./candidateGenerator.ts";
import { compileCatalog } from "./catalog.ts";
import { createContextOnlyGenerator } from "./reference/contextOnly.ts";
import { createOracleGenerator } from "./reference/oracle.ts";
import { countEvents, createPopularityGenerator } from "./reference/popularity.ts";
import { createRandomGenerator } from "./reference/random.ts";
import { FUNNEL_DEFAULTS, type FunnelArgs, type FunnelReport, simulateFunnel } from "./simulator.ts";
import { type Surface, surfaceRequests } from "./surface.ts";
import { type UtilityArgs, UtilityModel } from "./utility.ts";

export interface ReferenceFunnelArgs extends FunnelArgs {
  /** Parameters of the true utility (shared by the ranker and the oracle). */
  utility?: UtilityArgs;
  /** Conversions per item (popularity CG, item appeal); default: counted from `world.dir/events.jsonl`. */
  eventCounts?: ReadonlyMap<string, number>;
  /** CGs to run beside the reference ones (e.g. a trained model), after them in the report. */
  extraGenerators?: readonly CandidateGenerator[];
  /** Which requests to simulate: Related-Items (requests.jsonl, default) or Search (search.jsonl). */
  surface?: Surface;
}

/** A funnel report with the utility parameters it ran under (resolved). */
export interface ReferenceFunnelReport extends FunnelReport {
  utility: Required<UtilityArgs>;
}

/** The reference CGs' names, in report order. */
export const REFERENCE_CG_NAMES = ["random", "popularity", "context-only", "oracle"] as const;

export async function runReferenceFunnel(
  world: Pick<
    World,
    "dir" | "manifest" | "items" | "users" | "requests" | "categories" | "userTruth" | "search" | "lexicon"
  >,
  args: ReferenceFunnelArgs = {},
): Promise<ReferenceFunnelReport> {
  const seed = args.seed ?? FUNNEL_DEFAULTS.seed;
  const cat = compileCatalog(world);
  const counts = args.eventCounts ?? (await countEvents(readWorldEvents(world.dir)));
  // The ranker weighs context as strongly as the world does (its context strength r), unless told.
  const r = world.manifest.params.r;
  const contextWeight = args.utility?.contextWeight ?? (typeof r === "number" ? r : undefined);
  const utility = new UtilityModel(cat, world.userTruth, { ...args.utility, contextWeight }, counts);
  const cgs = [
    createRandomGenerator(cat, seed),
    createPopularityGenerator(cat, counts, seed),
    createContextOnlyGenerator(cat, seed),
    createOracleGenerator(cat, utility, seed),
    ...(args.extraGenerators ?? []),
  ];
  const requests = surfaceRequests(world, args.surface ?? "related");
  const report = await simulateFunnel({ users: world.users, requests }, cat, utility, cgs, args);
  return {
    ...report,
    utility: {
      contextWeight: utility.lambda,
      familySmoothing: utility.beta,
      popularityExponent: utility.gamma,
    },
  };
}
