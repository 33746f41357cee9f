/** Append-only typed arrays that double their capacity: event columns of unknown length, without per-event objects. */

type TypedCtor<T> = { new (length: number): T };

class Growable<T extends Int32Array | Float64Array | Float32Array> {
  private buf: T;
  length = 0;

  constructor(
    private readonly ctor: TypedCtor<T>,
    capacity = 1024,
  ) {
    this.buf = new ctor(capacity);
  }

  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new this.ctor(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }

  get(i: number): number {
    return this.buf[i];
  }

  set(i: number, v: number): void {
    this.buf[i] = v;
  }

  /** A view of the filled part (shares memory until the next push that grows). */
  view(): T {
    return this.buf.subarray(0, this.length) as T;
  }
}

export class GrowableInt32 extends Growable<Int32Array> {
  constructor(capacity?: number) {
    super(Int32Array, capacity);
  }
}

export class GrowableFloat64 extends Growable<Float64Array> {
  constructor(capacity?: number) {
    super(Float64Array, capacity);
  }
}

export class GrowableFloat32 extends Growable<Float32Array> {
  constructor(capacity?: number) {
    super(Float32Array, capacity);
  }
}
