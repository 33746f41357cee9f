/**
 * Reading a world folder back: `readWorld` loads everything but the events (validated row by row,
 * errors as `file:line: field: reason`), `readWorldEvents` streams events.jsonl.
 */
import { createReadStream, existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { z } from "zod";
import { CtxrecError } from "../core/errors.ts";
import type {
  CategoryTruth,
  OnsiteRequest,
  QueryToken,
  RequestTruth,
  SearchRequest,
  SearchTruth,
  UserTruth,
  World,
  WorldEvent,
  WorldItem,
  WorldManifest,
  WorldUser,
} from "./types.ts";

const id = z.string().min(1);
const itemSchema = z.object({
  id,
  categories: z.array(z.object({ id, confidence: z.number().gt(0).lte(1) })),
  advertiser: id.optional(),
  bid: z.number().nonnegative().optional(),
  countries: z.array(z.string()).optional(),
});
const userSchema = z.object({
  id,
  age: z.number().optional(),
  country: z.string().optional(),
  gender: z.string().optional(),
});
const requestSchema = z.object({
  id,
  user: id,
  subjectItem: id,
  time: z.number(),
  next: z.object({ item: id, timestamp: z.number() }),
});
const searchSchema = z.object({
  id,
  user: id,
  query: z.array(z.string().min(1)).min(1),
  time: z.number(),
  next: z.object({ item: id, timestamp: z.number() }),
});
const queryTokenSchema = z.object({
  token: z.string().min(1),
  categories: z.array(z.object({ id, confidence: z.number().gt(0).lte(1) })).min(1),
});
const searchTruthSchema = z.object({ id, request: id, intent: id, specific: z.boolean() });
const categorySchema = z.object({ id, family: z.number().int().nonnegative() });
const userTruthSchema = z.object({
  id,
  interests: z.array(z.object({ category: id, weight: z.number().nonnegative() })),
});
const requestTruthSchema = z.object({
  id,
  intent: id,
  intentFromLongTerm: z.boolean(),
  nextFromIntent: z.boolean(),
});
const eventSchema = z.object({
  user: id,
  item: id,
  timestamp: z.number(),
  type: z.enum(["page_visit", "add_to_cart", "checkout", "signup"]),
});
const manifestSchema = z.object({
  formatVersion: z.number(),
  preset: z.string(),
  seed: z.number().int(),
  params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
  counts: z.object({
    users: z.number().int(),
    items: z.number().int(),
    categories: z.number().int(),
    events: z.number().int(),
    requests: z.number().int(),
  }),
});

/** Parses one JSON line against a schema, or throws CTXREC_ERR_DATA_BAD_ROW at file:line: field. */
function parseRow<T>(schema: z.ZodType<T>, text: string, file: string, line: number): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new CtxrecError("CTXREC_ERR_DATA_BAD_ROW", `not valid JSON: ${text.slice(0, 80)}`, { file, line });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CtxrecError(
      "CTXREC_ERR_DATA_BAD_ROW",
      `${issue.message} (regenerate the world with \`ctxrec synth\`)`,
      { file, line, field: issue.path.join(".") || "(row)" },
    );
  }
  return parsed.data;
}

function requireFile(file: string): void {
  if (!existsSync(file)) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      "missing; is this a world folder written by `ctxrec synth`?",
      { file },
    );
  }
}

/** Streams the rows of a JSONL file, validated; blank lines are skipped. */
async function* readRows<T>(schema: z.ZodType<T>, file: string): AsyncGenerator<T> {
  requireFile(file);
  const lines = createInterface({
    input: createReadStream(file, "utf8"),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let n = 0;
  for await (const text of lines) {
    n++;
    if (text.trim() === "") continue;
    yield parseRow(schema, text, file, n);
  }
}

async function readAll<T>(schema: z.ZodType<T>, file: string): Promise<T[]> {
  const out: T[] = [];
  for await (const row of readRows(schema, file)) out.push(row);
  return out;
}

async function readMap<T extends { id: string }>(
  schema: z.ZodType<T>,
  file: string,
): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  for await (const row of readRows(schema, file)) out.set(row.id, row);
  return out;
}

/** Reads and checks world.json. */
export async function readManifest(dir: string): Promise<WorldManifest> {
  const file = path.join(dir, "world.json");
  requireFile(file);
  const manifest = parseRow(manifestSchema, await readFile(file, "utf8"), file, 1);
  if (manifest.formatVersion !== 1) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_VERSION",
      `formatVersion ${manifest.formatVersion} is not supported (expected 1); regenerate the world`,
      { file, field: "formatVersion" },
    );
  }
  return manifest as WorldManifest;
}

/** Loads a world folder: everything but the events (stream those with `readWorldEvents`). */
export async function readWorld(dir: string): Promise<World> {
  const manifest = await readManifest(dir);
  const items: WorldItem[] = await readAll(itemSchema, path.join(dir, "items.jsonl"));
  const users: WorldUser[] = await readAll(userSchema, path.join(dir, "users.jsonl"));
  const requests: OnsiteRequest[] = await readAll(requestSchema, path.join(dir, "requests.jsonl"));
  const categories: Map<string, CategoryTruth> = await readMap(
    categorySchema,
    path.join(dir, "truth", "categories.jsonl"),
  );
  const userTruth: Map<string, UserTruth> = await readMap(
    userTruthSchema,
    path.join(dir, "truth", "users.jsonl"),
  );
  const requestTruth: Map<string, RequestTruth> = await readMap(
    requestTruthSchema,
    path.join(dir, "truth", "requests.jsonl"),
  );
  const world: World = { dir, manifest, items, users, requests, categories, userTruth, requestTruth };
  // The Search surface is optional (`ctxrec synth --search`): read it when the world has it.
  const searchFile = path.join(dir, "search.jsonl");
  if (existsSync(searchFile)) {
    world.search = (await readAll(searchSchema, searchFile)) as SearchRequest[];
    const lexicon = new Map<string, QueryToken>();
    for await (const t of readRows(queryTokenSchema, path.join(dir, "search-lexicon.jsonl")))
      lexicon.set(t.token, t);
    world.lexicon = lexicon;
    world.searchTruth = (await readMap(searchTruthSchema, path.join(dir, "truth", "search.jsonl"))) as Map<
      string,
      SearchTruth
    >;
  }
  return world;
}

/** Streams events.jsonl in file order (users consecutive, each in time order). */
export function readWorldEvents(dir: string): AsyncGenerator<WorldEvent> {
  return readRows(eventSchema, path.join(dir, "events.jsonl"));
}
