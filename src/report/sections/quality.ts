/**
 * The headline table (ours vs baseline vs published on Amazon Beauty, HIT@10 / NDCG@10) and the
 * full quality tables of every `loo` result and `bench:quality` row found.
 */
import type { Sourced } from "../discover.ts";
import { type Cell, esc, notRunYet, num, type Section, sources, table } from "../html.ts";
import type { LooInput, QualityInput } from "../inputs.ts";

/** Published results on Beauty under the same protocol (S3-Rec file, filtered full ranking). */
export const PUBLISHED_BEAUTY: readonly { model: string; hit10: number; ndcg10: number; source: string }[] = [
  { model: "SASRec (≈, as reported under this protocol)", hit10: 0.06, ndcg10: 0.032, source: "published" },
  { model: "ICLRec", hit10: 0.0744, ndcg10: 0.0403, source: "published: Chen et al., WWW 2022" },
  { model: "BSARec", hit10: 0.1008, ndcg10: 0.0611, source: "published: Shin et al., AAAI 2024" },
];

export const LOO_COMMAND =
  "ctxrec eval --protocol loo --model DIR --format s3rec --path ../shared/data/amazon-beauty/Beauty.txt " +
  "--attributes ../shared/data/amazon-beauty/Beauty_item2attributes.json --json RUNS/loo-beauty.json";
export const QUALITY_COMMAND = "npm run bench:quality";

/** Which side of the comparison a scorer or bench variant is on. */
export type Role = "ours" | "baseline" | "reference";

/** `ctxrec@…` → ours, `ctxrec-baseline@…` → baseline, anything else (popularity, co-occurrence) → reference. */
export function looRole(model: string): Role {
  if (model.startsWith("ctxrec-baseline")) return "baseline";
  return model.startsWith("ctxrec") ? "ours" : "reference";
}

/** bench:quality variants: "context" → ours, "baseline" → baseline, others → reference. */
export function qualityRole(variant: string): Role {
  return variant === "context" ? "ours" : variant === "baseline" ? "baseline" : "reference";
}

const ROLE_LABEL: Record<Role, string> = {
  ours: "ctxrec contextual (ours)",
  baseline: "ctxrec baseline (no context layer)",
  reference: "reference",
};
const ROLE_ORDER: Record<Role, number> = { ours: 0, baseline: 1, reference: 2 };

const isBeauty = (dataset: string) => dataset.toLowerCase().includes("beauty");

/** Metric names in table order: hit@K by K, ndcg@K by K, then the rest (mrr). */
export function metricOrder(names: Iterable<string>): string[] {
  const all = [...new Set(names)];
  const byK = (prefix: string) =>
    all
      .filter((n) => n.startsWith(prefix))
      .sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)));
  return [
    ...byK("hit@"),
    ...byK("ndcg@"),
    ...all.filter((n) => !n.startsWith("hit@") && !n.startsWith("ndcg@")),
  ];
}

interface HeadlineRow {
  role: Role | "published";
  model: string;
  hit10: number | undefined;
  ndcg10: number | undefined;
  how: Cell;
}

/** Rows of the headline table from the Beauty results found, then the published ones. */
export function headlineRows(
  loo: readonly Sourced<LooInput>[],
  quality: readonly Sourced<QualityInput>[],
): HeadlineRow[] {
  const rows: HeadlineRow[] = [];
  for (const { file, data } of loo) {
    if (!isBeauty(data.dataset)) continue;
    const role = looRole(data.model);
    rows.push({
      role,
      model: role === "reference" ? data.model : `${ROLE_LABEL[role]}: ${data.model}`,
      hit10: data.metrics["hit@10"],
      ndcg10: data.metrics["ndcg@10"],
      how: { html: `<code>${esc(LOO_COMMAND.replace("RUNS/loo-beauty.json", file))}</code>` },
    });
  }
  for (const { file, data } of quality) {
    for (const r of data.rows) {
      if (!isBeauty(r.dataset)) continue;
      const role = qualityRole(r.variant);
      rows.push({
        role,
        model: role === "reference" ? r.variant : `${ROLE_LABEL[role]}, bench:quality`,
        hit10: r.metrics["hit@10"],
        ndcg10: r.metrics["ndcg@10"],
        how: { html: `<code>${esc(QUALITY_COMMAND)}</code> → <code>${esc(file)}</code>` },
      });
    }
  }
  rows.sort((a, b) => ROLE_ORDER[a.role as Role] - ROLE_ORDER[b.role as Role]);
  for (const p of PUBLISHED_BEAUTY) {
    rows.push({ role: "published", model: p.model, hit10: p.hit10, ndcg10: p.ndcg10, how: p.source });
  }
  return rows;
}

/** The headline table: ours vs baseline vs published on Beauty. */
export function headlineSection(
  loo: readonly Sourced<LooInput>[],
  quality: readonly Sourced<QualityInput>[],
): Section {
  const rows = headlineRows(loo, quality);
  const measured = rows.filter((r) => r.role !== "published");
  const body = rows
    .map((r) => {
      const cells = [
        esc(r.model),
        num(r.hit10),
        num(r.ndcg10),
        typeof r.how === "string" ? esc(r.how) : r.how.html,
      ];
      const cls = r.role === "ours" ? "ours" : r.role === "published" ? "published" : "";
      return `<tr class="${cls}"><td>${cells[0]}</td><td class="n">${cells[1]}</td><td class="n">${cells[2]}</td><td>${cells[3]}</td></tr>`;
    })
    .join("\n");
  const html = [
    "<p class=\"note\">Amazon Beauty (S3-Rec file), leave-one-out, test targets, full ranking with the user's history removed from the candidates (the ICLRec/BSARec protocol); published figures are the papers' own.</p>",
    measured.length === 0
      ? notRunYet(`${LOO_COMMAND}  (or ${QUALITY_COMMAND})`, "no Beauty loo result found")
      : "",
    `<table class="headline"><thead><tr><th>model</th><th class="n">HIT@10</th><th class="n">NDCG@10</th><th>reproduce / source</th></tr></thead>\n<tbody>\n${body}\n</tbody></table>`,
  ].join("\n");
  return {
    id: "headline",
    title: "Headline: Amazon Beauty, ours vs baseline vs published",
    present: measured.length > 0,
    html,
  };
}

/** Every loo result and bench:quality row, all metrics. */
export function qualitySection(
  loo: readonly Sourced<LooInput>[],
  quality: readonly Sourced<QualityInput>[],
): Section {
  const parts: string[] = [];
  if (loo.length > 0) {
    const names = metricOrder(loo.flatMap((l) => Object.keys(l.data.metrics)));
    const rows = [...loo]
      .sort(
        (a, b) =>
          a.data.dataset.localeCompare(b.data.dataset) ||
          ROLE_ORDER[looRole(a.data.model)] - ROLE_ORDER[looRole(b.data.model)],
      )
      .map(({ file, data }) => [
        data.dataset,
        data.model,
        data.users.toLocaleString("en-US"),
        ...names.map((n) => num(data.metrics[n])),
        { html: `<code>${esc(file)}</code>` },
      ]);
    parts.push(
      "<h3>ctxrec eval --protocol loo</h3>",
      table(["data set", "model", "users", ...names.map((n) => n.toUpperCase()), "file"], rows, 2),
    );
  }
  const qrows = quality.flatMap((q) => q.data.rows);
  if (qrows.length > 0) {
    const names = metricOrder(qrows.flatMap((r) => Object.keys(r.metrics)));
    const rows = qrows.map((r) => [
      r.dataset,
      r.variant,
      ...names.map((n) => num(r.metrics[n])),
      num(r.validationNdcg10),
      r.epochs === undefined ? "—" : `${r.epochs}${r.bestEpoch === undefined ? "" : ` (${r.bestEpoch})`}`,
      r.stopReason ?? "—",
      num(r.trainMinutes, 1),
    ]);
    parts.push(
      "<h3>npm run bench:quality</h3>",
      table(
        [
          "data set",
          "model",
          ...names.map((n) => n.toUpperCase()),
          "valid NDCG@10",
          "epochs (kept)",
          "stop",
          "train min",
        ],
        rows,
        2,
      ),
      sources(quality.map((q) => q.file)),
    );
  }
  if (parts.length === 0) {
    parts.push(
      notRunYet(LOO_COMMAND, "no loo-*.json found"),
      notRunYet(QUALITY_COMMAND, "no quality.json found"),
    );
  }
  return {
    id: "quality",
    title: "Sequential quality (leave-one-out)",
    present: loo.length + qrows.length > 0,
    html: parts.join("\n"),
  };
}
