/**
 * Learning-rate decay on a validation plateau: after `patience` evaluations in a row that do not
 * beat the best validation NDCG@10, the rate is multiplied by `factor` (and the count restarts),
 * never below `floor`·base. It needs no epoch count or budget in advance, so the same rule holds
 * for a catalogue that early-stops after 40 epochs and one that the time budget ends after 20.
 */

export interface PlateauDecayArgs {
  /** The starting rate. */
  base: number;
  /** Multiplier at each plateau, in (0, 1]; 1 = constant rate. */
  factor: number;
  /** Evaluations without a new best before a decay (≥ 1). */
  patience: number;
  /** The rate never falls below floor·base (in (0, 1]). */
  floor: number;
}

/** The rate after each evaluation; pure state, no side effects. */
export class PlateauDecay {
  private rate: number;
  private stale = 0;

  constructor(private readonly args: PlateauDecayArgs) {
    this.rate = args.base;
  }

  get learningRate(): number {
    return this.rate;
  }

  /** Records one evaluation (`improved`: it set a new best) and returns the rate for the next steps. */
  observe(improved: boolean): number {
    if (improved) {
      this.stale = 0;
      return this.rate;
    }
    this.stale++;
    if (this.stale >= this.args.patience) {
      this.stale = 0;
      this.rate = Math.max(this.rate * this.args.factor, this.args.base * this.args.floor);
    }
    return this.rate;
  }
}
