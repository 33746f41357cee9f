import { describe, expect, it } from "vitest";
import { acrossPasses, createStageRunner } from "./stages.ts";

describe("pipeline stages", () => {
  it("runs stages in order, reports start, progress and end, and records timings", async () => {
    const events: string[] = [];
    const runner = createStageRunner(2, {
      onStageStart: ({ index, count, name, unit }) =>
        events.push(`start ${index}/${count} ${name} (${unit})`),
      onProgress: (done, total) => events.push(`progress ${done}/${total}`),
      onStageEnd: ({ name, summary }) => events.push(`end ${name}: ${summary}`),
    });
    const a = await runner.run("first", "items", async (progress) => {
      progress(1, 2);
      progress(2, 2);
      return { value: 40, summary: "two items" };
    });
    const b = await runner.run("second", "users", async () => ({ value: a + 2, summary: "done" }));
    expect(b).toBe(42);
    expect(events).toEqual([
      "start 1/2 first (items)",
      "progress 1/2",
      "progress 2/2",
      "end first: two items",
      "start 2/2 second (users)",
      "end second: done",
    ]);
    expect(runner.timings.map((t) => t.name)).toEqual(["first", "second"]);
    for (const t of runner.timings) expect(t.seconds).toBeGreaterThanOrEqual(0);
  });

  it("a failing stage records no timing and rethrows", async () => {
    const runner = createStageRunner(1);
    await expect(
      runner.run("boom", "x", async () => {
        throw new Error("bad");
      }),
    ).rejects.toThrow("bad");
    expect(runner.timings).toEqual([]);
  });

  it("acrossPasses keeps progress monotone over passes that each restart at 0", () => {
    const seen: [number, number][] = [];
    const p = acrossPasses((d, t) => seen.push([d, t]));
    p(5, 10);
    p(10, 10);
    p(4, 10); // second pass: 10 done before it
    p(10, 10);
    expect(seen).toEqual([
      [5, 10],
      [10, 10],
      [14, 20],
      [20, 20],
    ]);
  });
});
