/**
 * State age as the service reports it: a state written seconds ago (as `ctxrec stream` writes one)
 * is served with `stateAgeSeconds` of seconds, a daily batch's with its real age, and both land in
 * the `ctxrec_state_age_seconds` histogram of /metrics; cold-start requests are not counted there.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openFeatureStore } from "../store/open.ts";
import { type ServedFixture, servedFixture } from "./testBundle.ts";

let served: ServedFixture;
beforeAll(async () => {
  served = await servedFixture(3, { maxK: 50 });
});
afterAll(() => served?.close());

const ask = async (userId: string) =>
  (await served.app.inject({ method: "POST", url: "/v1/candidates", payload: { userId, k: 5 } })).json<{
    stateAgeSeconds: number | null;
  }>();

describe("stateAgeSeconds", () => {
  it("is seconds for a freshly streamed state, the batch's age otherwise, and a histogram in /metrics", async () => {
    const [fresh, batch] = [served.fx.ds.userVocab.names[1], served.fx.ds.userVocab.names[2]];
    const store = await openFeatureStore(served.fx.storeUrl, {
      modelVersion: served.fx.version,
      dim: 16,
      mode: "write",
    });
    const old = await store.get(fresh);
    expect(old).toBeDefined();
    // What the stream writes after an event 2 s ago.
    await store.put({ ...(old as NonNullable<typeof old>), computedAt: Date.now() / 1000 - 2 });
    await store.close();

    const a = await ask(fresh);
    expect(a.stateAgeSeconds).toBeGreaterThanOrEqual(2);
    expect(a.stateAgeSeconds).toBeLessThan(5);
    // The tiny world's events are from 2024: the batch state is more than 7 days old.
    expect((await ask(batch)).stateAgeSeconds).toBeGreaterThan(7 * 86_400);
    expect((await ask("nobody-ever")).stateAgeSeconds).toBeNull();

    const m = (await served.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(m).toMatch(/^ctxrec_state_age_seconds_bucket\{le="1"\} 0$/m);
    expect(m).toMatch(/^ctxrec_state_age_seconds_bucket\{le="5"\} 1$/m);
    expect(m).toMatch(/^ctxrec_state_age_seconds_bucket\{le="604800"\} 1$/m);
    expect(m).toMatch(/^ctxrec_state_age_seconds_bucket\{le="\+Inf"\} 2$/m);
    expect(m).toMatch(/^ctxrec_state_age_seconds_count 2$/m);
  });
});
