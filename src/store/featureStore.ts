/**
 * The feature store contract: cached user state (the sequence encoder's last hidden state, a
 * float32 vector `[d]`) keyed by user id, kept in one namespace per model version.
 *
 * A handle is opened for ONE model version and width d. Writers (`ctxrec encode`) fill the
 * namespace of a new version while readers (the service) keep using the old one; `activate()`
 * then moves the store's "active version" pointer in one atomic step. Readers never see state of
 * another version: opening a version the store does not hold, or reading a record tagged with
 * another version, throws CTXREC_ERR_ARTIFACT_VERSION and bumps `counters.versionRefusals`.
 *
 * Implementations: `sqlite.ts` (embedded default, `file:PATH`) and `redis.ts` (`redis://…`).
 * Both are checked by the one contract suite in `contract.ts`.
 */
import { CtxrecError } from "../core/errors.ts";

/** One user's cached state. */
export interface StateEntry {
  user: string;
  /** The last hidden state, `[d]`. Stored and returned bit-exact. */
  vector: Float32Array;
  /** The model version that computed the state; must equal the store handle's version. */
  modelVersion: string;
  /** Unix seconds: time of the newest event the encoder saw for this user. */
  computedAt: number;
}

/** Counters a service exports as metrics. Pass one object to every open to keep counting across swaps. */
export interface StoreCounters {
  /** Reads or opens refused because the state belongs to another model version. */
  versionRefusals: number;
  /** Records that failed their integrity check (wrong length, bad magic). */
  corruptRecords: number;
  /** Users found by get/getMany. */
  hits: number;
  /** Users asked for but absent. */
  misses: number;
}

/** A fresh set of counters, all zero. */
export function createStoreCounters(): StoreCounters {
  return { versionRefusals: 0, corruptRecords: 0, hits: 0, misses: 0 };
}

/** What a namespace holds, as listed by `listVersions()`. */
export interface VersionInfo {
  modelVersion: string;
  /** Vector width d of every state in the namespace. */
  dim: number;
  /** Unix seconds when the namespace was created. */
  createdAt: number;
  /** Whether this is the store's active version (see `activate()`). */
  active: boolean;
}

/** Arguments of every store open. */
export interface OpenStoreArgs {
  /** The model version whose namespace to open (letters, digits, `.`, `_`, `-`; ≤ 128 chars). */
  modelVersion: string;
  /** Vector width d; must match the namespace's width when it exists. */
  dim: number;
  /**
   * `"read"` (default): the namespace must already exist (else CTXREC_ERR_ARTIFACT_VERSION), and
   * puts are refused. `"write"`: the namespace is created when absent.
   */
  mode?: "read" | "write";
  /** Counters to update; a fresh set when omitted. */
  counters?: StoreCounters;
}

/** The feature store interface; all methods are async so that networked stores fit. */
export interface FeatureStore {
  /** The model version this handle was opened for. */
  readonly modelVersion: string;
  /** Vector width d. */
  readonly dim: number;
  readonly mode: "read" | "write";
  readonly counters: StoreCounters;
  /** The state of `user`, or undefined when the namespace holds none. */
  get(user: string): Promise<StateEntry | undefined>;
  /** States of `users` in the same order (`undefined` for misses), read from one snapshot. */
  getMany(users: readonly string[]): Promise<(StateEntry | undefined)[]>;
  /** Writes (overwrites: last write wins) one state. */
  put(entry: StateEntry): Promise<void>;
  /**
   * Writes all entries atomically: every entry is validated first and either all are visible to
   * readers or none. Duplicated users: the later entry wins.
   */
  putMany(entries: readonly StateEntry[]): Promise<void>;
  /**
   * Resumability (`ctxrec encode` reruns and `--since`): the stored `computedAt` of each user, or
   * undefined; the encoder skips users whose stored time already equals their newest event time.
   */
  computedAtMany(users: readonly string[]): Promise<(number | undefined)[]>;
  /** The model version of this handle's namespace (what every state it returns was computed by). */
  versionOf(): string;
  /** The store's active version (set by `activate()`), or undefined when none was activated. */
  activeVersion(): Promise<string | undefined>;
  /** Atomically makes this handle's version the active one (after `encode` completed it). */
  activate(): Promise<void>;
  /** Every namespace in the store. */
  listVersions(): Promise<VersionInfo[]>;
  close(): Promise<void>;
}

const VERSION_RE = /^[A-Za-z0-9._-]{1,128}$/;

/** Checks the open arguments shared by every implementation. */
export function checkOpenArgs(args: OpenStoreArgs): Required<OpenStoreArgs> {
  if (typeof args.modelVersion !== "string" || !VERSION_RE.test(args.modelVersion)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `model version ${JSON.stringify(args.modelVersion)} is invalid; use 1-128 letters, digits, ".", "_" or "-" (the model manifest's version id)`,
      { param: "modelVersion" },
    );
  }
  if (!Number.isInteger(args.dim) || args.dim < 1 || args.dim > 65_536) {
    throw new CtxrecError("CTXREC_ERR_ARG", `dim ${args.dim} is invalid; use an integer in [1, 65536]`, {
      param: "dim",
    });
  }
  const mode = args.mode ?? "read";
  if (mode !== "read" && mode !== "write") {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `mode ${JSON.stringify(mode)} is invalid; use "read" or "write"`,
      {
        param: "mode",
      },
    );
  }
  return {
    modelVersion: args.modelVersion,
    dim: args.dim,
    mode,
    counters: args.counters ?? createStoreCounters(),
  };
}

/** Throws unless `user` is a non-empty string. `param` names it in the message. */
export function checkUser(user: unknown, param: string): asserts user is string {
  if (typeof user !== "string" || user.length === 0) {
    throw new CtxrecError("CTXREC_ERR_ARG", `user id ${JSON.stringify(user)} must be a non-empty string`, {
      param,
    });
  }
}

/** Throws unless every id in `users` is a non-empty string, naming `users[i]`. */
export function checkUsers(users: readonly string[]): void {
  for (let i = 0; i < users.length; i++) checkUser(users[i], `users[${i}]`);
}

/**
 * Validates one entry before anything is written: user id, model version, `[d]` shape, finite
 * values, computedAt. `param` is e.g. `entries[3]`.
 */
export function checkEntry(entry: StateEntry, modelVersion: string, dim: number, param: string): void {
  checkUser(entry?.user, `${param}.user`);
  const who = `user ${JSON.stringify(entry.user)}`;
  if (entry.modelVersion !== modelVersion) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_VERSION",
      `${who}: state of model version ${JSON.stringify(entry.modelVersion)} cannot be written to the namespace of ${JSON.stringify(modelVersion)}; open the store for that version`,
      { param: `${param}.modelVersion` },
    );
  }
  if (!(entry.vector instanceof Float32Array)) {
    throw new CtxrecError("CTXREC_ERR_ARG", `${who}: vector must be a Float32Array`, {
      param: `${param}.vector`,
    });
  }
  if (entry.vector.length !== dim) {
    throw new CtxrecError(
      "CTXREC_ERR_SHAPE",
      `${who}: expected a vector of shape [${dim}], received [${entry.vector.length}]; the store was opened with dim ${dim}`,
      { param: `${param}.vector` },
    );
  }
  for (let i = 0; i < dim; i++) {
    if (!Number.isFinite(entry.vector[i])) {
      throw new CtxrecError(
        "CTXREC_ERR_NUMERIC",
        `${who}: value ${entry.vector[i]} at index ${i} is not finite; the encoder produced a bad state`,
        { param: `${param}.vector` },
      );
    }
  }
  if (!Number.isFinite(entry.computedAt) || entry.computedAt < 0) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `${who}: computedAt ${entry.computedAt} must be a finite, non-negative Unix time in seconds`,
      { param: `${param}.computedAt` },
    );
  }
}

/** Throws CTXREC_ERR_ARG when a read-only handle is asked to write. */
export function checkWritable(store: { mode: string; modelVersion: string }, method: string): void {
  if (store.mode !== "write") {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `the store for model version ${store.modelVersion} was opened read-only; open it with mode "write" to call ${method}`,
      { param: "mode" },
    );
  }
}

/** The refusal a reader raises when the store has no namespace for its version (counted). */
export function missingVersionError(
  where: string,
  modelVersion: string,
  present: readonly VersionInfo[],
  counters: StoreCounters,
): CtxrecError {
  counters.versionRefusals++;
  const list = present.length
    ? present.map((v) => `${v.modelVersion}${v.active ? " (active)" : ""}`).join(", ")
    : "none";
  return new CtxrecError(
    "CTXREC_ERR_ARTIFACT_VERSION",
    `${where} holds no state for model version ${modelVersion} (versions present: ${list}); run \`ctxrec encode\` with that model first, or serve the model whose version the store holds`,
    { param: "modelVersion" },
  );
}

/** The refusal when an existing namespace has another width than the handle asks for. */
export function dimMismatchError(
  where: string,
  modelVersion: string,
  stored: number,
  asked: number,
): CtxrecError {
  return new CtxrecError(
    "CTXREC_ERR_SHAPE",
    `${where}: the namespace of model version ${modelVersion} holds vectors of shape [${stored}], but the store was opened with dim ${asked}; open it with dim ${stored} or use a new model version`,
    { param: "dim" },
  );
}
