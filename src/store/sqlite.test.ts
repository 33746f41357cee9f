import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { featureStoreContract } from "./contract.ts";
import { vectorFor } from "./fixtures/vectors.ts";
import { openFeatureStore } from "./open.ts";
import { openSqliteStore } from "./sqlite.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-store-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

featureStoreContract("SQLite (file:)", async () => {
  const file = path.join(tmp, `contract-${n++}.db`);
  return {
    open: (args) => openFeatureStore(`file:${file}`, args),
    async writeRaw(modelVersion, user, record) {
      const db = new Database(file);
      db.prepare(
        `INSERT OR REPLACE INTO ctxrec_states (ns, user, record)
         SELECT id, ?, ? FROM ctxrec_namespaces WHERE model_version = ?`,
      ).run(user, record, modelVersion);
      db.close();
    },
    async destroy() {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
    },
  };
});

describe("SQLite store specifics", () => {
  const args = { modelVersion: "v1", dim: 4 } as const;

  it("read mode on a missing file names the file and the fix", async () => {
    const file = path.join(tmp, "absent.db");
    await expect(openSqliteStore(file, args)).rejects.toThrow(/absent\.db.*does not exist.*ctxrec encode/);
  });

  it("refuses a file that is not a SQLite database, wrapped as a store error", async () => {
    const file = path.join(tmp, "garbage.db");
    writeFileSync(file, "this is not sqlite, just text that is long enough to have a header ".repeat(20));
    const err = await openSqliteStore(file, { ...args, mode: "write" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CtxrecError);
    expect((err as CtxrecError).code).toBe("CTXREC_ERR_STORE");
    expect((err as CtxrecError).message).toMatch(/garbage\.db.*not a database/);
  });

  it("uses WAL journaling", async () => {
    const file = path.join(tmp, "wal.db");
    const s = await openSqliteStore(file, { ...args, mode: "write" });
    await s.close();
    const db = new Database(file);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
  });

  it("a writer SIGKILLed mid-putMany leaves whole batches only (no partial vector, no mixed round)", async () => {
    const file = path.join(tmp, "killed.db");
    const dim = 64;
    const users = 3000; // ~1 MB per round: the kill lands inside a transaction most of the time
    // Three kills at different moments; each child resumes where the last committed round ended.
    for (const delayMs of [150, 420, 60]) {
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          path.join(import.meta.dirname, "fixtures/loopWriter.ts"),
          file,
          "v1",
          `${dim}`,
          `${users}`,
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      let committed = 0;
      let pending = "";
      const closed = new Promise((resolve) => child.on("close", resolve));
      await new Promise<void>((resolve, reject) => {
        child.on("error", reject);
        child.on("exit", (code) => reject(new Error(`writer exited early with ${code}`)));
        child.stdout.on("data", (chunk: Buffer) => {
          const lines = (pending + chunk.toString()).split("\n");
          pending = lines.pop() ?? "";
          for (const line of lines) {
            if (committed === 0) setTimeout(resolve, delayMs);
            committed = Number(/^committed (\d+)$/.exec(line)?.[1]);
          }
        });
      });
      child.removeAllListeners("exit");
      child.kill("SIGKILL");
      await closed; // all of stdout read: `committed` is the last round the child reported
      expect(committed).toBeGreaterThan(0);

      const db = new Database(file);
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      db.close();
      const store = await openSqliteStore(file, { modelVersion: "v1", dim });
      const ids = Array.from({ length: users }, (_, i) => `user-${i}`);
      const got = await store.getMany(ids); // decodes every record: a torn one would throw CORRUPT
      const round = got[0]?.computedAt ?? -1;
      // The file holds the last round the child reported, or the one it was committing when killed.
      expect(round === committed || round === committed + 1).toBe(true);
      for (let i = 0; i < users; i++) {
        expect(got[i]?.computedAt).toBe(round);
        expect(got[i]?.vector).toEqual(vectorFor(ids[i], round, dim));
      }
      await store.close();
    }
  });
});
