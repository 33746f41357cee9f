/**
 * The one contract every FeatureStore implementation passes (run by `sqlite.test.ts` and
 * `redis.test.ts`, in the spirit of TFRS's shared `run_top_k_test`). Test-only: imports vitest,
 * so it is not exported from the package.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CtxrecError, type ErrorCode } from "../core/errors.ts";
import {
  createStoreCounters,
  type FeatureStore,
  type OpenStoreArgs,
  type StateEntry,
} from "./featureStore.ts";
import { vectorFor as vectorOf } from "./fixtures/vectors.ts";
import { encodeRecord } from "./record.ts";

const vectorFor = (user: string, salt: number): Float32Array => vectorOf(user, salt, D);

/** One empty backing storage (a file, a Redis key prefix) plus raw access for tampering tests. */
export interface StoreBacking {
  open(args: OpenStoreArgs): Promise<FeatureStore>;
  /** Stores `record` bytes as `user`'s state in the namespace of `modelVersion`, bypassing every check. */
  writeRaw(modelVersion: string, user: string, record: Buffer): Promise<void>;
  /** Removes the storage. */
  destroy(): Promise<void>;
}

const D = 8;
const V1 = "v1-abc123";
const V2 = "v2-def456";

function entry(user: string, salt: number, computedAt = 1_700_000_000, version = V1): StateEntry {
  return { user, vector: vectorFor(user, salt), modelVersion: version, computedAt };
}

/** Bytes of a vector, for bit-exact comparison (NaN-safe, tells -0 from 0). */
const bytes = (v: Float32Array): number[] => [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)];

async function expectCode(p: Promise<unknown>, code: ErrorCode, text?: RegExp): Promise<CtxrecError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CtxrecError);
  expect((err as CtxrecError).code).toBe(code);
  if (text) expect((err as CtxrecError).message).toMatch(text);
  return err as CtxrecError;
}

/** Registers the contract suite for one implementation; `makeBacking` gives fresh storage per test. */
export function featureStoreContract(name: string, makeBacking: () => Promise<StoreBacking>): void {
  describe(`FeatureStore contract: ${name}`, () => {
    let backing: StoreBacking;
    let opened: FeatureStore[];
    const open = async (args: Partial<OpenStoreArgs> = {}): Promise<FeatureStore> => {
      const s = await backing.open({ modelVersion: V1, dim: D, mode: "write", ...args });
      opened.push(s);
      return s;
    };

    beforeEach(async () => {
      backing = await makeBacking();
      opened = [];
    });
    afterEach(async () => {
      for (const s of opened) await s.close();
      await backing.destroy();
    });

    it("round-trips vectors bit-exact, with version and computedAt", async () => {
      const s = await open();
      // -0, the smallest subnormal, ±max float32 and a value float32 cannot hold exactly (1/3).
      const special = new Float32Array([
        -0,
        1.401298464324817e-45,
        3.4028234663852886e38,
        -3.4028234663852886e38,
        1 / 3,
        0,
        1,
        -1,
      ]);
      await s.put({ user: "special", vector: special, modelVersion: V1, computedAt: 1_700_000_000.5 });
      const got = await s.get("special");
      expect(got?.user).toBe("special");
      expect(got?.modelVersion).toBe(V1);
      expect(got?.computedAt).toBe(1_700_000_000.5);
      expect(bytes(got?.vector as Float32Array)).toEqual(bytes(special));
      expect(Object.is(got?.vector[0], -0)).toBe(true);
      // Random vectors over several seeds, including unicode and key-like user ids.
      for (const [i, user] of ["u1", "ユーザー", "a:b:c", "with space"].entries()) {
        const e = entry(user, i + 1);
        await s.put(e);
        expect(bytes((await s.get(user))?.vector as Float32Array)).toEqual(bytes(e.vector));
      }
    });

    it("getMany keeps request order, repeats, and returns undefined for misses", async () => {
      const counters = createStoreCounters();
      const s = await open({ counters });
      await s.putMany([entry("a", 1), entry("b", 2), entry("c", 3)]);
      const got = await s.getMany(["c", "nobody", "a", "c"]);
      expect(got.map((g) => g?.user)).toEqual(["c", undefined, "a", "c"]);
      expect(bytes(got[0]?.vector as Float32Array)).toEqual(bytes(vectorFor("c", 3)));
      expect(bytes(got[2]?.vector as Float32Array)).toEqual(bytes(vectorFor("a", 1)));
      expect(await s.getMany([])).toEqual([]);
      expect(await s.get("nobody")).toBeUndefined();
      // 3 hits + 1 miss in getMany, 1 miss in get.
      expect(counters).toMatchObject({ hits: 3, misses: 2 });
    });

    it("putMany is all or nothing: a bad entry mid-batch writes nothing, old state stays", async () => {
      const s = await open();
      await s.put(entry("keep", 1, 100));
      const bad: [number, StateEntry, ErrorCode][] = [
        [2, { ...entry("u2", 2), vector: new Float32Array(D).fill(Number.NaN) }, "CTXREC_ERR_NUMERIC"],
        [2, { ...entry("u2", 2), vector: new Float32Array(D - 1) }, "CTXREC_ERR_SHAPE"],
        [2, entry("u2", 2, 5, V2), "CTXREC_ERR_ARTIFACT_VERSION"],
        [2, { ...entry("u2", 2), computedAt: Number.NaN }, "CTXREC_ERR_ARG"],
        [2, { ...entry("u2", 2), user: "" }, "CTXREC_ERR_ARG"],
      ];
      for (const [at, badEntry, code] of bad) {
        const batch = [entry("u0", 9, 200), entry("keep", 9, 200), badEntry, entry("u3", 9, 200)];
        const err = await expectCode(s.putMany(batch), code);
        expect(err.message).toContain(`entries[${at}]`);
      }
      expect((await s.getMany(["u0", "u2", "u3"])).every((g) => g === undefined)).toBe(true);
      const kept = await s.get("keep");
      expect(kept?.computedAt).toBe(100);
      expect(bytes(kept?.vector as Float32Array)).toEqual(bytes(vectorFor("keep", 1)));
    });

    it("refuses NaN/Infinity and wrong dimensions before writing, naming user and index", async () => {
      const s = await open();
      const v = vectorFor("x", 1);
      v[5] = Number.POSITIVE_INFINITY;
      await expectCode(s.put({ ...entry("x", 1), vector: v }), "CTXREC_ERR_NUMERIC", /"x".*index 5/);
      await expectCode(
        s.put({ ...entry("x", 1), vector: new Float32Array(D + 1) }),
        "CTXREC_ERR_SHAPE",
        /\[8\].*\[9\]/,
      );
      expect(await s.get("x")).toBeUndefined();
      await s.put(entry("x", 1));
      await s.close();
      // The namespace of V1 holds d=8: opening it with another width is refused.
      await expectCode(open({ dim: D * 2 }), "CTXREC_ERR_SHAPE", /\[8\].*dim 16/);
    });

    it("a reader refuses another model version, and counts each refusal", async () => {
      const counters = createStoreCounters();
      await (await open()).put(entry("u", 1));
      // Reader for a version the store does not hold.
      await expectCode(
        open({ modelVersion: V2, mode: "read", counters }),
        "CTXREC_ERR_ARTIFACT_VERSION",
        /v2-def456.*v1-abc123/,
      );
      expect(counters.versionRefusals).toBe(1);
      // A record of another version found in this version's namespace (tampering, a bad copy).
      await backing.writeRaw(V1, "foreign", encodeRecord(entry("foreign", 1, 1, "v0-old")));
      const r = await open({ mode: "read", counters });
      await expectCode(r.get("foreign"), "CTXREC_ERR_ARTIFACT_VERSION", /"v0-old"/);
      await expectCode(r.getMany(["u", "foreign"]), "CTXREC_ERR_ARTIFACT_VERSION");
      await expectCode(r.computedAtMany(["foreign"]), "CTXREC_ERR_ARTIFACT_VERSION");
      expect(counters.versionRefusals).toBe(4);
      expect((await r.get("u"))?.modelVersion).toBe(V1);
    });

    it("refuses damaged records (a truncated vector) as corrupt", async () => {
      const s = await open();
      const whole = encodeRecord(entry("cut", 1));
      await backing.writeRaw(V1, "cut", whole.subarray(0, whole.length - 3));
      await expectCode(s.get("cut"), "CTXREC_ERR_ARTIFACT_CORRUPT", /"cut"/);
      expect(s.counters.corruptRecords).toBe(1);
    });

    it("overwrites: the last write wins, also for a user repeated in one batch", async () => {
      const s = await open();
      await s.put(entry("a", 1, 10));
      await s.put(entry("a", 2, 20));
      let got = await s.get("a");
      expect(got?.computedAt).toBe(20);
      expect(bytes(got?.vector as Float32Array)).toEqual(bytes(vectorFor("a", 2)));
      await s.putMany([entry("a", 3, 30), entry("b", 1), entry("a", 4, 40)]);
      got = await s.get("a");
      expect(got?.computedAt).toBe(40);
      expect(bytes(got?.vector as Float32Array)).toEqual(bytes(vectorFor("a", 4)));
    });

    it("a concurrent reader sees whole batches only, never a mix of two rounds", async () => {
      const w = await open();
      const r = await open({ mode: "read" });
      const users = Array.from({ length: 200 }, (_, i) => `c${i}`);
      const round = (k: number) => users.map((u) => entry(u, k, k));
      await w.putMany(round(1));
      const writes = (async () => {
        for (let k = 2; k <= 20; k++) await w.putMany(round(k));
      })();
      const seen = new Set<number>();
      const reads = (async () => {
        for (let i = 0; i < 40; i++) {
          const got = await r.getMany(users);
          const times = new Set(got.map((g) => g?.computedAt));
          expect(times.size).toBe(1);
          seen.add(got[0]?.computedAt as number);
        }
      })();
      await Promise.all([writes, reads]);
      expect([...seen].every((k) => k >= 1 && k <= 20)).toBe(true);
    });

    it("keeps versions apart; activate() switches the active version", async () => {
      const w1 = await open();
      const w2 = await open({ modelVersion: V2 });
      await w1.putMany([entry("both", 1, 1, V1), entry("only1", 1, 1, V1)]);
      await w2.put(entry("both", 2, 2, V2));
      expect(await w1.activeVersion()).toBeUndefined();
      await w1.activate();
      const r1 = await open({ mode: "read" });
      const r2 = await open({ modelVersion: V2, mode: "read" });
      expect(r1.versionOf()).toBe(V1);
      expect(r2.versionOf()).toBe(V2);
      expect(bytes((await r1.get("both"))?.vector as Float32Array)).toEqual(bytes(vectorFor("both", 1)));
      expect(bytes((await r2.get("both"))?.vector as Float32Array)).toEqual(bytes(vectorFor("both", 2)));
      expect(await r2.get("only1")).toBeUndefined();
      expect(await r1.activeVersion()).toBe(V1);
      await w2.activate();
      expect(await r1.activeVersion()).toBe(V2);
      const versions = await r1.listVersions();
      expect(versions.map((v) => [v.modelVersion, v.dim, v.active])).toEqual([
        [V1, D, false],
        [V2, D, true],
      ]);
    });

    it("persists across close and reopen; computedAtMany answers resumability", async () => {
      const w = await open();
      await w.putMany([entry("a", 1, 111), entry("b", 2, 222)]);
      await w.activate();
      await w.close();
      const r = await open({ mode: "read" });
      expect(await r.computedAtMany(["b", "zz", "a"])).toEqual([222, undefined, 111]);
      expect(bytes((await r.get("b"))?.vector as Float32Array)).toEqual(bytes(vectorFor("b", 2)));
      expect(await r.activeVersion()).toBe(V1);
    });

    it("a read-only handle refuses writes; bad open arguments are refused", async () => {
      await open();
      const r = await open({ mode: "read" });
      await expectCode(r.put(entry("a", 1)), "CTXREC_ERR_ARG", /read-only/);
      await expectCode(r.activate(), "CTXREC_ERR_ARG", /read-only/);
      await expectCode(open({ modelVersion: "has space" }), "CTXREC_ERR_ARG", /model version/);
      await expectCode(open({ dim: 0 }), "CTXREC_ERR_ARG", /dim 0/);
      await expectCode(r.get(""), "CTXREC_ERR_ARG", /non-empty/);
    });
  });
}
