/**
 * String ↔ int vocabularies. Code 0 is always padding (`<pad>`); vocabularies of optional fields
 * (demographics, event types, advertisers) reserve code 1 for "missing" (`<missing>`), so a
 * missing value has its own embedding row instead of sharing padding's.
 */

export const PAD = "<pad>";
export const MISSING = "<missing>";
/** First code of a real value in an optional field's vocabulary (after padding and missing). */
export const FIRST_OPTIONAL_CODE = 2;

/** Codes in order of first appearance; `names[code]` is the string id. */
export class Vocab {
  readonly names: string[];
  /** name → code, built on first lookup: a reloaded artifact that is only iterated never pays for it. */
  private indexMap: Map<string, number> | undefined;

  /** @param names initial names; names[0] must be PAD (and names[1] MISSING for optional fields). */
  constructor(names: readonly string[]) {
    this.names = [...names];
  }

  private get index(): Map<string, number> {
    if (this.indexMap === undefined) {
      this.indexMap = new Map();
      for (let i = 0; i < this.names.length; i++) this.indexMap.set(this.names[i], i);
    }
    return this.indexMap;
  }

  /** A vocabulary with only padding: codes of real ids start at 1. */
  static ids(): Vocab {
    return new Vocab([PAD]);
  }

  /** A vocabulary for an optional field: 0 padding, 1 missing, values from 2. */
  static optional(): Vocab {
    return new Vocab([PAD, MISSING]);
  }

  /** Number of codes, padding (and missing) included. */
  get size(): number {
    return this.names.length;
  }

  /** Code of `name`, or undefined if not present. */
  get(name: string): number | undefined {
    return this.index.get(name);
  }

  /** Code of `name`, adding it if new. */
  add(name: string): number {
    let code = this.index.get(name);
    if (code === undefined) {
      code = this.names.length;
      this.names.push(name);
      this.index.set(name, code);
    }
    return code;
  }

  /** Code for an optional value: MISSING's code when undefined. Only for optional vocabularies. */
  addOptional(name: string | undefined): number {
    return name === undefined ? 1 : this.add(name);
  }
}
