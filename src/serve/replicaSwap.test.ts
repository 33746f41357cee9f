/**
 * The two-phase swap over a fake channel (replicas are names, answers scripted): nobody commits
 * before everybody prepared; one refusal, a timeout or two versions abort everybody with that
 * error; a replica that died meanwhile is left out.
 */
import { describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { type ToWorker, toWire } from "./replicaProtocol.ts";
import { type Answer, type ReplicaChannel, swapAll } from "./replicaSwap.ts";

/** What one replica answers to `prepare`: a version, an error, death (undefined) or no answer in time. */
type Script = { version: string } | { error: CtxrecError } | "dies" | "times out";

/** A channel whose replicas answer by `scripts`; `log` records every message as `replica:type`. */
function fakeChannel(scripts: Record<string, Script>, log: string[]): ReplicaChannel<string> {
  return {
    async ask(r, m) {
      log.push(`${r}:${m.type}`);
      const s = scripts[r];
      if (s === "dies") return undefined;
      if (m.type === "ctxrec:commit") {
        const result = { previousVersion: "v1", modelVersion: "v2", generation: 1 };
        return { type: "ctxrec:committed", id: m.id, result } satisfies Answer;
      }
      if (s === "times out") throw new CtxrecError("CTXREC_ERR_TIMEOUT", `replica ${r} did not answer`);
      return "version" in s
        ? { type: "ctxrec:prepared", id: m.id, modelVersion: s.version }
        : { type: "ctxrec:prepared", id: m.id, error: toWire(s.error) };
    },
    send(r, m: ToWorker) {
      log.push(`${r}:${m.type}`);
    },
  };
}

describe("swapAll", () => {
  it("commits only once every replica prepared the same version", async () => {
    const log: string[] = [];
    const ch = fakeChannel({ a: { version: "v2" }, b: { version: "v2" } }, log);
    const { results, prepareMs, commitMs } = await swapAll(["a", "b"], { modelDir: "/m2" }, 7, ch);
    expect(results.map((r) => r?.modelVersion)).toEqual(["v2", "v2"]);
    expect(prepareMs).toBeGreaterThanOrEqual(0);
    expect(commitMs).toBeGreaterThanOrEqual(0);
    expect(log).toEqual(["a:ctxrec:prepare", "b:ctxrec:prepare", "a:ctxrec:commit", "b:ctxrec:commit"]);
  });

  it("aborts every replica with the refusing replica's error (code and message kept)", async () => {
    const log: string[] = [];
    const refused = new CtxrecError("CTXREC_ERR_ARTIFACT_VERSION", "index built for model version 'x'", {
      file: "/i.ctxidx",
    });
    const ch = fakeChannel({ a: { version: "v2" }, b: { error: refused } }, log);
    const err = await swapAll(["a", "b"], {}, 1, ch).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CtxrecError);
    expect(err).toMatchObject({ code: "CTXREC_ERR_ARTIFACT_VERSION", message: refused.message });
    expect(log).toEqual(["a:ctxrec:prepare", "b:ctxrec:prepare", "a:ctxrec:abort", "b:ctxrec:abort"]);
  });

  it("aborts when the replicas loaded different versions (files replaced during the reload)", async () => {
    const log: string[] = [];
    const ch = fakeChannel({ a: { version: "v2" }, b: { version: "v3" } }, log);
    await expect(swapAll(["a", "b"], {}, 1, ch)).rejects.toThrow(/loaded different model versions/);
    expect(log.filter((l) => l.endsWith(":ctxrec:commit"))).toEqual([]);
    expect(log.filter((l) => l.endsWith(":ctxrec:abort"))).toHaveLength(2);
  });

  it("aborts on a replica that does not answer in time", async () => {
    const log: string[] = [];
    const ch = fakeChannel({ a: { version: "v2" }, b: "times out" }, log);
    await expect(swapAll(["a", "b"], {}, 1, ch)).rejects.toMatchObject({ code: "CTXREC_ERR_TIMEOUT" });
    expect(log.filter((l) => l.endsWith(":ctxrec:abort"))).toHaveLength(2);
  });

  it("leaves out a replica that died during the swap and commits the others", async () => {
    const log: string[] = [];
    const ch = fakeChannel({ a: "dies", b: { version: "v2" } }, log);
    const { results } = await swapAll(["a", "b"], {}, 1, ch);
    expect(results).toEqual([undefined, expect.objectContaining({ modelVersion: "v2" })]);
    expect(log).toEqual(["a:ctxrec:prepare", "b:ctxrec:prepare", "a:ctxrec:commit", "b:ctxrec:commit"]);
  });
});
