import { describe, expect, it } from "vitest";
import { subjectContext } from "../eval/staleContext.ts";
import { timedDataset } from "../eval/staleTestData.ts";
import { contextFromItems } from "./context.ts";
import { contextFromCategories, trainedContextEncoder } from "./contextEncoder.ts";

describe("the trainer's context rule on a request's categories", () => {
  it("equals contextFromItems of the subject items: top-k by confidence, ties in file order, normalised", async () => {
    const ds = await timedDataset(
      {
        u1: [
          ["a", 0],
          ["b", 1],
          ["c", 2],
          ["d", 3],
        ],
      },
      {
        a: ["x:0.2", "y:0.9", "z:0.5", "w:0.9", "v:0.1"], // top 3: y, w (tie, file order), z
        b: [], // no categories: present 0
        c: ["x:1"],
        d: ["v:0.3", "w:0.3"],
      },
    );
    const positions = Int32Array.of(0, 1, 2, 3, 0);
    const subjects = Array.from(positions, (p) => ds.items[p]);
    for (const k of [1, 3, 4]) {
      const got = contextFromCategories(subjectContext(ds, positions), 5, k);
      // Plus the subject items themselves, for models that read the subject's vector.
      expect(got).toEqual({ ...contextFromItems(subjects, ds, k), subjects: Int32Array.from(subjects) });
    }
    // by hand for k = 3, row 0 (item a): y 0.9, w 0.9, z 0.5 → weights 0.9/2.3, 0.9/2.3, 0.5/2.3
    const got = trainedContextEncoder(3)(subjectContext(ds, positions), 5);
    const cat = (n: string) => ds.categoryVocab.get(n);
    expect(Array.from(got.catIds.subarray(0, 3))).toEqual([cat("y"), cat("w"), cat("z")]);
    expect(got.weights[0]).toBeCloseTo(0.9 / 2.3, 6);
    expect(got.weights[2]).toBeCloseTo(0.5 / 2.3, 6);
    expect(Array.from(got.present)).toEqual([1, 0, 1, 1, 1]);
  });
});
