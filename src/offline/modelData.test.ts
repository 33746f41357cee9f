import { describe, expect, it } from "vitest";
import type { CompiledDataset } from "../data/dataset.ts";
import { Vocab } from "../data/vocab.ts";
import type { ModelVocabs } from "../model/artifact.ts";
import { requireModelVocabs } from "./modelData.ts";

const vocabs: ModelVocabs = {
  items: ["<pad>", "a", "b"],
  categories: ["<pad>"],
  types: ["<pad>", "<none>"],
  demographics: {},
};
const data = (items: string[], types = vocabs.types) =>
  ({
    itemVocab: new Vocab(items),
    typeVocab: new Vocab(types),
    source: { format: "jsonl", path: "/data/x" },
  }) as unknown as CompiledDataset;

describe("requireModelVocabs", () => {
  it("accepts the model's own vocabularies", () => {
    expect(() => requireModelVocabs(data(["<pad>", "a", "b"]), vocabs, "/m")).not.toThrow();
  });

  it("refuses other item ids, another order, another count or other event types", () => {
    const cases: [CompiledDataset, RegExp][] = [
      [data(["<pad>", "a", "c"]), /item ids differ.*code 2 is "b" in the model and "c" in the data/],
      [data(["<pad>", "b", "a"]), /code 1 is "a" in the model and "b"/],
      [data(["<pad>", "a", "b", "c"]), /the model has 2 item ids and the data 3/],
      [data(["<pad>", "a", "b"], ["<pad>", "<none>", "click"]), /event type ids differ/],
    ];
    for (const [ds, message] of cases) {
      expect(() => requireModelVocabs(ds, vocabs, "/m")).toThrow(message);
      try {
        requireModelVocabs(ds, vocabs, "/m");
      } catch (err) {
        expect((err as { code: string }).code).toBe("CTXREC_ERR_DATA_UNKNOWN_ID");
      }
    }
  });
});
