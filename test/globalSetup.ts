/**
 * Says once, at the top of the run, which optional inputs are absent and so which tests skip: the
 * default reporter lists skipped files but not why, and a reader of CI output should see the reason.
 */
import { existsSync } from "node:fs";
import path from "node:path";

export default function announceSkips(): void {
  const data = path.resolve(import.meta.dirname, "../../shared/data");
  const missing = [
    "ml-100k/u.data",
    "amazon-beauty/Beauty.txt",
    "amazon-beauty/Beauty_item2attributes.json",
  ].filter((f) => !existsSync(path.join(data, f)));
  if (missing.length > 0) {
    process.stdout.write(
      `ctxrec tests: real-data tests SKIP because ${missing.map((f) => path.join(data, f)).join(", ")} ` +
        "is absent (the suite does not require ../shared/data)\n",
    );
  }
}
