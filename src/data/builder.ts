/**
 * Accumulates canonical rows from any reader into vocabularies and typed columns, applies the
 * bad-row policy, and compiles the result into a CompiledDataset.
 *
 * Bad-row policy: a row-level error (CTXREC_ERR_DATA_BAD_ROW, CTXREC_ERR_DATA_UNKNOWN_ID) thrown
 * inside `row()` is re-thrown by default (fail on the first invalid row, with its location); with
 * `skipInvalid` it is counted and its message kept (the first MAX_REASONS). File-level errors
 * (encoding, empty, missing file) always throw.
 */
import { CtxrecError, type ErrorLocation } from "../core/errors.ts";
import { buildSequences, toCsr } from "./compile.ts";
import {
  AGE_BUCKETS,
  ageBucket,
  type CompiledDataset,
  type DataReport,
  type DemographicColumn,
  emptyReport,
  MAX_REASONS,
} from "./dataset.ts";
import { GrowableFloat32, GrowableFloat64, GrowableInt32 } from "./growable.ts";
import { type Category, DEMOGRAPHIC_FIELDS, type DemographicField, type Item, type User } from "./schema.ts";
import { MISSING, PAD, Vocab } from "./vocab.ts";

export interface BuilderArgs {
  /** Skip and count invalid rows instead of failing on the first. Default false. */
  skipInvalid?: boolean;
}

const ROW_ERRORS = new Set(["CTXREC_ERR_DATA_BAD_ROW", "CTXREC_ERR_DATA_UNKNOWN_ID"]);

export class DatasetBuilder {
  readonly report: DataReport = emptyReport();
  private readonly skipInvalid: boolean;

  readonly userVocab = Vocab.ids();
  readonly itemVocab = Vocab.ids();
  readonly categoryVocab = Vocab.ids();
  readonly typeVocab = Vocab.optional();
  readonly advertiserVocab = Vocab.optional();
  private readonly demoVocab: Record<DemographicField, Vocab> = {
    age: new Vocab([PAD, MISSING, ...AGE_BUCKETS]),
    country: Vocab.optional(),
    gender: Vocab.optional(),
    occupation: Vocab.optional(),
  };

  // Per user code (row 0 = padding).
  private readonly demoCodes: Record<DemographicField, GrowableInt32>;
  private readonly userAge = new GrowableFloat32();
  /** Line where each user's profile was read (0 = no profile). */
  private readonly profileLine = new GrowableInt32();
  private hasUserFile = false;

  // Per item code (row 0 = padding).
  private readonly itemCats: { ids: number[]; conf: number[] }[] = [{ ids: [], conf: [] }];
  private readonly itemCountries: number[][] = [[]];
  private readonly itemAdvertiser = new GrowableInt32();
  private readonly itemBid = new GrowableFloat32();
  private readonly itemLine: number[] = [0];
  /** When true, events may only refer to items already added (a catalogue file exists). */
  private catalogueClosed = false;

  // Event columns in file order.
  private readonly evUser = new GrowableInt32();
  private readonly evItem = new GrowableInt32();
  private readonly evTs = new GrowableFloat64();
  private readonly evType = new GrowableInt32();

  constructor(args: BuilderArgs = {}) {
    this.skipInvalid = args.skipInvalid ?? false;
    this.demoCodes = {
      age: new GrowableInt32(),
      country: new GrowableInt32(),
      gender: new GrowableInt32(),
      occupation: new GrowableInt32(),
    };
    this.pushUserRow(); // padding row
    this.itemAdvertiser.push(0);
    this.itemBid.push(Number.NaN);
  }

  /**
   * Runs one row's processing under the bad-row policy. Returns false if the row was skipped.
   */
  row(fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (err) {
      if (!(err instanceof CtxrecError) || !ROW_ERRORS.has(err.code) || !this.skipInvalid) throw err;
      this.skipped(err);
      return false;
    }
  }

  /** Counts a skipped row (only call when skipInvalid, or via `row`). */
  private skipped(err: CtxrecError): void {
    this.report.invalidRows++;
    if (err.code === "CTXREC_ERR_DATA_UNKNOWN_ID" && err.location.field === "item")
      this.report.unknownItemEvents++;
    if (this.report.invalidReasons.length < MAX_REASONS) this.report.invalidReasons.push(err.message);
  }

  /** Whether invalid rows are skipped (readers use it for parser-level recovery, e.g. CSV quoting). */
  get skipping(): boolean {
    return this.skipInvalid;
  }

  /** Records a row-level error found outside `row()` (e.g. by a CSV parser); throws unless skipping. */
  invalid(err: CtxrecError): void {
    if (!this.skipInvalid) throw err;
    this.skipped(err);
  }

  /** From now on, events must refer to catalogue items (call after reading the items file). */
  closeCatalogue(): void {
    this.catalogueClosed = true;
  }

  private pushUserRow(): void {
    for (const f of DEMOGRAPHIC_FIELDS) this.demoCodes[f].push(this.demoCodes[f].length === 0 ? 0 : 1);
    this.userAge.push(Number.NaN);
    this.profileLine.push(0);
  }

  private userCode(id: string): number {
    const before = this.userVocab.size;
    const code = this.userVocab.add(id);
    if (code === before) this.pushUserRow();
    return code;
  }

  /** Adds a catalogue item. A second row with the same id is a BAD_ROW. */
  addItem(item: Item, loc: ErrorLocation): number {
    const prev = this.itemVocab.get(item.id);
    if (prev !== undefined) {
      throw new CtxrecError(
        "CTXREC_ERR_DATA_BAD_ROW",
        `duplicate item id ${JSON.stringify(item.id)} (first defined at line ${this.itemLine[prev]}); keep one row per item`,
        { ...loc, field: "id" },
      );
    }
    const cats = this.categoryCodes(item.categories, loc);
    const code = this.itemVocab.add(item.id);
    this.itemLine.push(loc.line ?? 0);
    this.itemCats.push(cats);
    this.itemAdvertiser.push(this.advertiserVocab.addOptional(item.advertiser));
    this.itemBid.push(item.bid ?? Number.NaN);
    const countries = item.countries ?? [];
    this.itemCountries.push(countries.map((c) => this.demoVocab.country.add(c)));
    return code;
  }

  /** Code of an item, adding a bare item (no categories) if the catalogue is open. */
  private itemCode(id: string, loc: ErrorLocation): number {
    const code = this.itemVocab.get(id);
    if (code !== undefined) return code;
    if (this.catalogueClosed) {
      throw new CtxrecError(
        "CTXREC_ERR_DATA_UNKNOWN_ID",
        `item ${JSON.stringify(id)} is not in the item catalogue; add it to the items file or remove the event (--skip-invalid skips such events)`,
        { ...loc, field: "item" },
      );
    }
    return this.addItem({ id, categories: [] }, loc);
  }

  /** Looks up an existing item for attribute files: UNKNOWN_ID if absent. */
  existingItem(id: string, loc: ErrorLocation): number {
    const code = this.itemVocab.get(id);
    if (code === undefined) {
      throw new CtxrecError(
        "CTXREC_ERR_DATA_UNKNOWN_ID",
        `item ${JSON.stringify(id)} does not appear in any sequence; remove it from the attributes file or check that the files belong together`,
        loc,
      );
    }
    return code;
  }

  /** Replaces an item's categories (validated first, so a bad row changes nothing). */
  setCategories(item: number, categories: readonly Category[], loc: ErrorLocation): void {
    this.itemCats[item] = this.categoryCodes(categories, loc);
  }

  /** Category codes and confidences; a category listed twice in one item is a BAD_ROW. */
  private categoryCodes(
    categories: readonly Category[],
    loc: ErrorLocation,
  ): { ids: number[]; conf: number[] } {
    const seen = new Set<string>();
    for (let k = 0; k < categories.length; k++) {
      if (seen.has(categories[k].id)) {
        throw new CtxrecError(
          "CTXREC_ERR_DATA_BAD_ROW",
          `category ${JSON.stringify(categories[k].id)} is listed twice; list each category once`,
          { ...loc, field: loc.field ?? `categories[${k}].id` },
        );
      }
      seen.add(categories[k].id);
    }
    return {
      ids: categories.map((c) => this.categoryVocab.add(c.id)),
      conf: categories.map((c) => c.confidence),
    };
  }

  /** Adds a user profile (demographics). A second profile for the same id is a BAD_ROW. */
  addUser(user: User, loc: ErrorLocation): void {
    this.hasUserFile = true;
    const code = this.userCode(user.id);
    const prev = this.profileLine.get(code);
    if (prev !== 0) {
      throw new CtxrecError(
        "CTXREC_ERR_DATA_BAD_ROW",
        `duplicate user id ${JSON.stringify(user.id)} (first defined at line ${prev}); keep one row per user`,
        { ...loc, field: "id" },
      );
    }
    this.profileLine.set(code, loc.line ?? 1);
    if (user.age !== undefined) {
      this.userAge.set(code, user.age);
      this.demoCodes.age.set(code, this.demoVocab.age.add(ageBucket(user.age)));
    }
    for (const f of ["country", "gender", "occupation"] as const) {
      this.demoCodes[f].set(code, this.demoVocab[f].addOptional(user[f]));
    }
  }

  /** Adds one event. `timestamp` in Unix seconds (already validated finite). */
  addEvent(
    user: string,
    item: string,
    timestamp: number,
    type: string | undefined,
    loc: ErrorLocation,
  ): void {
    // Resolve the item first: an unknown item must not leave a half-added user behind.
    const i = this.itemCode(item, loc);
    const u = this.userCode(user);
    this.evUser.push(u);
    this.evItem.push(i);
    this.evTs.push(timestamp);
    this.evType.push(this.typeVocab.addOptional(type));
  }

  /** Number of events added so far (before duplicate removal). */
  get eventCount(): number {
    return this.evUser.length;
  }

  /** Compiles everything added into a CompiledDataset. */
  finish(source: CompiledDataset["source"]): CompiledDataset {
    const U = this.userVocab.size;
    const N = this.itemVocab.size;
    const seq = buildSequences(
      {
        user: this.evUser.view(),
        item: this.evItem.view(),
        timestamp: this.evTs.view(),
        type: this.evType.view(),
      },
      U,
    );
    const report = this.report;
    report.duplicateEvents = seq.duplicates;
    const itemSeen = new Uint8Array(N);
    for (let e = 0; e < seq.items.length; e++) itemSeen[seq.items[e]] = 1;
    for (let u = 1; u < U; u++) {
      const n = seq.offsets[u + 1] - seq.offsets[u];
      if (n === 1) report.singleEventUsers++;
      if (n === 0) report.usersWithoutEvents++;
      else if (this.hasUserFile && this.profileLine.get(u) === 0) report.usersWithoutProfile++;
    }
    for (let i = 1; i < N; i++) {
      if (!itemSeen[i]) report.itemsWithoutEvents++;
      if (this.itemCats[i].ids.length === 0) report.itemsWithoutCategories++;
    }
    const cats = toCsr(this.itemCats.map((c) => c.ids));
    const catConf = new Float32Array(cats.values.length);
    for (let i = 0; i < N; i++) catConf.set(this.itemCats[i].conf, cats.offsets[i]);
    const countries = toCsr(this.itemCountries);
    const demographics = {} as Record<DemographicField, DemographicColumn>;
    for (const f of DEMOGRAPHIC_FIELDS) {
      demographics[f] = { vocab: this.demoVocab[f], codes: this.demoCodes[f].view().slice() };
    }
    return {
      source,
      userVocab: this.userVocab,
      itemVocab: this.itemVocab,
      categoryVocab: this.categoryVocab,
      typeVocab: this.typeVocab,
      offsets: seq.offsets,
      items: seq.items,
      timestamps: seq.timestamps,
      types: seq.types,
      catOffsets: cats.offsets,
      catIds: cats.values,
      catConf,
      advertiserVocab: this.advertiserVocab,
      itemAdvertiser: this.itemAdvertiser.view().slice(),
      itemBid: this.itemBid.view().slice(),
      itemCountryOffsets: countries.offsets,
      itemCountries: countries.values,
      demographics,
      userAge: this.userAge.view().slice(),
      report,
    };
  }
}
