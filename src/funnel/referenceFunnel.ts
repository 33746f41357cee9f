/**
 * The funnel on a world (`runWorldFunnel`: catalogue, conversion counts, true utility, simulator),
 * and with the four reference CGs (random, popularity, context-only, oracle) in it.
 */
import { readWorldEvents } from "../synth/read.ts";
import type { World } from "../synth/types.ts";
import type { CandidateGenerator } from "./candidateGenerator.ts";
import { type Catalog, compileCatalog } from "./catalog.ts";
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

/** What the CGs of a world funnel may be built from (the reference CGs need all of it). */
export interface WorldFunnelSetup {
  cat: Catalog;
  utility: UtilityModel;
  /** Conversions per item id. */
  counts: ReadonlyMap<string, number>;
  /** The funnel seed (ranker noise, the reference CGs' random choices). */
  seed: number;
}

/** The world fields a world funnel reads. */
export type FunnelWorldInput = Pick<
  World,
  "dir" | "manifest" | "items" | "users" | "requests" | "categories" | "userTruth" | "search" | "lexicon"
>;

/**
 * The funnel on a world with the CGs `makeCgs` builds: compiles the catalogue, counts conversions
 * (item appeal), sets the true utility (λ = the world's r unless told) and runs the simulator on
 * the surface's requests. `runReferenceFunnel` and the competition funnel are this with their CGs.
 */
export async function runWorldFunnel(
  world: FunnelWorldInput,
  args: Omit<ReferenceFunnelArgs, "extraGenerators">,
  makeCgs: (setup: WorldFunnelSetup) => CandidateGenerator[],
): Promise<ReferenceFunnelReport> {
  const seed = args.seed ?? FUNNEL_DEFAULTS.seed;
  const cat = compileCatalog(world);
  const counts = args.eventCounts ?? (await countEvents(readWorldEvents(world.dir)));
  // The ranker weighs context as strongly as the world does (its context strength r), unless told.
  const r = world.manifest.params.r;
  const contextWeight = args.utility?.contextWeight ?? (typeof r === "number" ? r : undefined);
  const utility = new UtilityModel(cat, world.userTruth, { ...args.utility, contextWeight }, counts);
  const cgs = makeCgs({ cat, utility, counts, seed });
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

export async function runReferenceFunnel(
  world: FunnelWorldInput,
  args: ReferenceFunnelArgs = {},
): Promise<ReferenceFunnelReport> {
  return runWorldFunnel(world, args, ({ cat, utility, counts, seed }) => [
    createRandomGenerator(cat, seed),
    createPopularityGenerator(cat, counts, seed),
    createContextOnlyGenerator(cat, seed),
    createOracleGenerator(cat, utility, seed),
    ...(args.extraGenerators ?? []),
  ]);
}
