/**
 * The embedded feature store: one SQLite file (better-sqlite3) in WAL mode, so readers keep
 * reading a consistent snapshot while a writer commits. Every state is one `record.ts` BLOB in
 * `ctxrec_states`, keyed by (namespace, user); a namespace per model version lives in
 * `ctxrec_namespaces`, and the active-version pointer is one row of `ctxrec_meta`.
 *
 * Atomicity: `putMany` validates and encodes every entry first, then writes them in one
 * transaction; SQLite's journal guarantees that a process killed at any point leaves either the
 * whole batch or none of it. `synchronous=NORMAL` in WAL mode keeps that guarantee across process
 * crashes (a power loss may drop the last committed batches, never tear one).
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { CtxrecError, wrapError } from "../core/errors.ts";
import {
  checkEntry,
  checkOpenArgs,
  checkUser,
  checkUsers,
  checkWritable,
  dimMismatchError,
  type FeatureStore,
  missingVersionError,
  type OpenStoreArgs,
  type StateEntry,
  type StoreCounters,
  type VersionInfo,
} from "./featureStore.ts";
import { decodeHeader, decodeRecord, encodeRecord, MAX_HEADER, type RecordContext } from "./record.ts";

/** Format of the tables; a file written by another format is refused. */
const FORMAT = "1";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ctxrec_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ctxrec_namespaces (
  id INTEGER PRIMARY KEY,
  model_version TEXT NOT NULL UNIQUE,
  dim INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ctxrec_states (
  ns INTEGER NOT NULL,
  user TEXT NOT NULL,
  record BLOB NOT NULL,
  PRIMARY KEY (ns, user)
) WITHOUT ROWID;
INSERT OR IGNORE INTO ctxrec_meta (key, value) VALUES ('format', '${FORMAT}');
`;

type Db = Database.Database;

/** Opens (creating in write mode) the SQLite store at `file` for one model version. */
export async function openSqliteStore(file: string, args: OpenStoreArgs): Promise<FeatureStore> {
  const a = checkOpenArgs(args);
  const where = file;
  if (a.mode === "read" && !existsSync(file)) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      `feature store file does not exist; check the path or run \`ctxrec encode --store file:${file}\` first`,
      { file },
    );
  }
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new CtxrecError("CTXREC_ERR_ARG", "is a directory; give the path of a store file (e.g. state.db)", {
      file,
    });
  }
  const dir = path.dirname(path.resolve(file));
  if (!existsSync(dir)) {
    throw new CtxrecError("CTXREC_ERR_ARG", `folder ${dir} does not exist; create it first`, { file });
  }
  let db: Db | undefined;
  try {
    db = new Database(file);
    db.pragma("busy_timeout = 5000");
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'ctxrec_%'")
      .pluck()
      .all() as string[];
    if (a.mode === "write") {
      db.pragma("journal_mode = WAL");
      db.exec(SCHEMA);
    } else if (!tables.includes("ctxrec_namespaces")) {
      throw missingVersionError(where, a.modelVersion, [], a.counters);
    }
    db.pragma("synchronous = NORMAL");
    const format = db.prepare("SELECT value FROM ctxrec_meta WHERE key = 'format'").pluck().get();
    if (format !== FORMAT) {
      throw new CtxrecError(
        "CTXREC_ERR_ARTIFACT_VERSION",
        `store format ${JSON.stringify(format)} is not the supported format ${FORMAT}; re-create the store with this ctxrec`,
        { file },
      );
    }
    if (a.mode === "write") {
      db.prepare(
        "INSERT OR IGNORE INTO ctxrec_namespaces (model_version, dim, created_at) VALUES (?, ?, ?)",
      ).run(a.modelVersion, a.dim, Math.floor(Date.now() / 1000));
    }
    const ns = db
      .prepare("SELECT id, dim FROM ctxrec_namespaces WHERE model_version = ?")
      .get(a.modelVersion) as { id: number; dim: number } | undefined;
    if (ns === undefined) throw missingVersionError(where, a.modelVersion, listVersions(db), a.counters);
    if (ns.dim !== a.dim) throw dimMismatchError(where, a.modelVersion, ns.dim, a.dim);
    return new SqliteFeatureStore(db, where, ns.id, a.modelVersion, a.dim, a.mode, a.counters);
  } catch (err) {
    db?.close();
    throw wrapError(
      "CTXREC_ERR_STORE",
      err,
      "the file is not a readable SQLite feature store; check the path and permissions",
      { file },
    );
  }
}

/** Every namespace in the SQLite store at `file` (none when the file holds no ctxrec tables). */
export async function listSqliteVersions(file: string): Promise<VersionInfo[]> {
  if (!existsSync(file)) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      "feature store file does not exist; check the path",
      {
        file,
      },
    );
  }
  let db: Db | undefined;
  try {
    db = new Database(file, { readonly: true });
    const has = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ctxrec_namespaces'")
      .get();
    return has === undefined ? [] : listVersions(db);
  } catch (err) {
    throw wrapError("CTXREC_ERR_STORE", err, "the file is not a readable SQLite feature store", { file });
  } finally {
    db?.close();
  }
}

function listVersions(db: Db): VersionInfo[] {
  const active = db.prepare("SELECT value FROM ctxrec_meta WHERE key = 'active'").pluck().get();
  const rows = db
    .prepare("SELECT model_version, dim, created_at FROM ctxrec_namespaces ORDER BY id")
    .all() as { model_version: string; dim: number; created_at: number }[];
  return rows.map((r) => ({
    modelVersion: r.model_version,
    dim: r.dim,
    createdAt: r.created_at,
    active: r.model_version === active,
  }));
}

class SqliteFeatureStore implements FeatureStore {
  private readonly selectOne: Database.Statement;
  private readonly selectHeader: Database.Statement;
  private readonly upsert: Database.Statement;
  private readonly readMany: (users: readonly string[]) => (Buffer | undefined)[];
  private readonly writeMany: (rows: readonly { user: string; record: Buffer }[]) => void;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly where: string,
    private readonly ns: number,
    readonly modelVersion: string,
    readonly dim: number,
    readonly mode: "read" | "write",
    readonly counters: StoreCounters,
  ) {
    this.selectOne = db.prepare("SELECT record FROM ctxrec_states WHERE ns = ? AND user = ?").pluck();
    // Only the header bytes: enough for computedAt and the version check, no vector copied out.
    this.selectHeader = db
      .prepare(`SELECT substr(record, 1, ${MAX_HEADER}) FROM ctxrec_states WHERE ns = ? AND user = ?`)
      .pluck();
    this.upsert = db.prepare(
      `INSERT INTO ctxrec_states (ns, user, record) VALUES (?, ?, ?)
       ON CONFLICT (ns, user) DO UPDATE SET record = excluded.record`,
    );
    // One read transaction: every user of a getMany comes from the same committed snapshot.
    this.readMany = db.transaction((users: readonly string[]) =>
      users.map((u) => this.selectOne.get(ns, u) as Buffer | undefined),
    );
    this.writeMany = db.transaction((rows) => {
      for (const r of rows) this.upsert.run(ns, r.user, r.record);
    });
  }

  private ctx(user: string): RecordContext {
    return {
      where: this.where,
      user,
      modelVersion: this.modelVersion,
      dim: this.dim,
      counters: this.counters,
    };
  }

  private guard<T>(fn: () => T, what: string): Promise<T> {
    if (this.closed) {
      return Promise.reject(new CtxrecError("CTXREC_ERR_ARG", `${what} after close()`, { file: this.where }));
    }
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(
        wrapError("CTXREC_ERR_STORE", err, "SQLite failed; check disk space and file permissions", {
          file: this.where,
        }),
      );
    }
  }

  private decode(user: string, record: Buffer | undefined): StateEntry | undefined {
    if (record === undefined) {
      this.counters.misses++;
      return undefined;
    }
    const entry = decodeRecord(record, this.ctx(user));
    this.counters.hits++;
    return entry;
  }

  get(user: string): Promise<StateEntry | undefined> {
    return this.guard(() => {
      checkUser(user, "user");
      return this.decode(user, this.selectOne.get(this.ns, user) as Buffer | undefined);
    }, "get");
  }

  getMany(users: readonly string[]): Promise<(StateEntry | undefined)[]> {
    return this.guard(() => {
      checkUsers(users);
      const records = this.readMany(users);
      return records.map((r, i) => this.decode(users[i], r));
    }, "getMany");
  }

  put(entry: StateEntry): Promise<void> {
    return this.putMany([entry]);
  }

  putMany(entries: readonly StateEntry[]): Promise<void> {
    return this.guard(() => {
      checkWritable(this, "putMany");
      // Validate and encode everything before the transaction opens: a bad entry writes nothing.
      const rows = entries.map((e, i) => {
        checkEntry(e, this.modelVersion, this.dim, `entries[${i}]`);
        return { user: e.user, record: encodeRecord(e) };
      });
      if (rows.length > 0) this.writeMany(rows);
    }, "putMany");
  }

  computedAtMany(users: readonly string[]): Promise<(number | undefined)[]> {
    return this.guard(() => {
      checkUsers(users);
      return users.map((u) => {
        const header = this.selectHeader.get(this.ns, u) as Buffer | undefined;
        return header === undefined ? undefined : decodeHeader(header, this.ctx(u), false).computedAt;
      });
    }, "computedAtMany");
  }

  versionOf(): string {
    return this.modelVersion;
  }

  activeVersion(): Promise<string | undefined> {
    return this.guard(
      () =>
        this.db.prepare("SELECT value FROM ctxrec_meta WHERE key = 'active'").pluck().get() as
          | string
          | undefined,
      "activeVersion",
    );
  }

  activate(): Promise<void> {
    return this.guard(() => {
      checkWritable(this, "activate");
      this.db
        .prepare(
          "INSERT INTO ctxrec_meta (key, value) VALUES ('active', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .run(this.modelVersion);
    }, "activate");
  }

  listVersions(): Promise<VersionInfo[]> {
    return this.guard(() => listVersions(this.db), "listVersions");
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.db.close();
    }
    return Promise.resolve();
  }
}
