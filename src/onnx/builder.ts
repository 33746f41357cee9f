/**
 * A small ONNX graph builder on top of `onnx-proto` (the generated protobuf classes of onnx.proto):
 * named inputs/outputs with symbolic dims, initializers from typed arrays (raw little-endian bytes),
 * nodes with typed attributes, and `serialize()` to the bytes any ONNX runtime loads.
 * No TypeScript tfjs → ONNX converter exists, so the exports (online.ts, encoder.ts, itemTower.ts)
 * write their graphs with this from the model definition.
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** The opset every ctxrec graph is written against (LayerNormalization needs ≥ 17; ORT 1.30 runs it). */
export const OPSET = 17;
/** IR version 8 goes with opsets up to 18. */
export const IR_VERSION = 8;

/** Element types the graphs use. */
export type ElemType = "float32" | "int32" | "int64" | "bool";

const ELEM: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** A named graph input or output: a dim is a size or a symbolic name ("B", "L"). */
export interface ValueSpec {
  name: string;
  dtype: ElemType;
  shape: (number | string)[];
}

/**
 * An attribute value: an integer → INT, an integer array → INTS, a string → STRING,
 * `{ float: x }` → FLOAT (explicit, since 1 and 1.0 are the same JS number).
 */
export type AttrValue = number | number[] | string | { float: number };

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === "string") return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (typeof v === "number") return { name, type: T.INT, i: v };
  return { name, type: T.FLOAT, f: v.float };
}

function valueInfo(v: ValueSpec): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ELEM[v.dtype],
        shape: { dim: v.shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function bytesOf(data: Float32Array | Int32Array | BigInt64Array): Uint8Array {
  // protobufjs writes the bytes as they are; typed arrays are little-endian on every platform ORT supports.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Builds one graph; every method returns the name of the value it creates. */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: ValueSpec[] = [];
  private readonly outputs: ValueSpec[] = [];
  private readonly constants = new Map<string, string>();
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(private readonly graphName: string) {}

  /** An unused value name `hint_N` (names must be unique in a graph); claimed when a value takes it. */
  fresh(hint: string): string {
    let name = `${hint}_${this.counter++}`;
    while (this.used.has(name)) name = `${hint}_${this.counter++}`;
    return name;
  }

  private claim(name: string): string {
    if (this.used.has(name)) throw new Error(`GraphBuilder ${this.graphName}: duplicate value name ${name}`);
    this.used.add(name);
    return name;
  }

  /** Declares a graph input. */
  input(spec: ValueSpec): string {
    this.inputs.push(spec);
    return this.claim(spec.name);
  }

  /** Declares `value` as the graph output `spec.name` (through an Identity when the names differ). */
  output(value: string, spec: ValueSpec): void {
    if (value !== spec.name)
      this.nodes.push({ opType: "Identity", input: [value], output: [this.claim(spec.name)] });
    this.outputs.push(spec);
  }

  /** A float32 initializer of shape `dims` (a weight). */
  float(name: string, data: Float32Array, dims: number[]): string {
    return this.tensor(name, ELEM.float32, bytesOf(data), dims, data.length);
  }

  /** An int32 initializer of shape `dims`. */
  int32(name: string, data: Int32Array, dims: number[]): string {
    return this.tensor(name, ELEM.int32, bytesOf(data), dims, data.length);
  }

  /** An int64 initializer (shapes, axes, slice bounds). */
  int64(name: string, values: readonly number[], dims: number[] = [values.length]): string {
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    return this.tensor(name, ELEM.int64, bytesOf(data), dims, data.length);
  }

  private tensor(name: string, dataType: number, rawData: Uint8Array, dims: number[], count: number): string {
    const want = dims.reduce((a, b) => a * b, 1);
    if (want !== count)
      throw new Error(`GraphBuilder ${this.graphName}: ${name} has ${count} values for dims [${dims}]`);
    this.initializers.push({ name: this.claim(name), dataType, dims, rawData });
    return name;
  }

  /** A shared float32 scalar constant (deduplicated by value). */
  scalar(value: number): string {
    const key = `f${value}`;
    let name = this.constants.get(key);
    if (name === undefined) {
      name = this.float(this.fresh("const"), Float32Array.of(value), []);
      this.constants.set(key, name);
    }
    return name;
  }

  /** A shared int64 1-D constant (axes, shapes; deduplicated by value). */
  ints(values: readonly number[]): string {
    const key = `i${values.join(",")}`;
    let name = this.constants.get(key);
    if (name === undefined) {
      name = this.int64(this.fresh("ints"), values);
      this.constants.set(key, name);
    }
    return name;
  }

  /** Adds a node with one output; returns the output's name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, hint = opType): string {
    return this.opN(opType, inputs, 1, attrs, hint)[0];
  }

  /** Adds a node with `count` outputs. */
  opN(
    opType: string,
    inputs: string[],
    count: number,
    attrs: Record<string, AttrValue> = {},
    hint = opType,
  ): string[] {
    const output = Array.from({ length: count }, () => this.claim(this.fresh(hint)));
    this.nodes.push({
      opType,
      input: inputs,
      output,
      name: output[0],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return output;
  }

  /** The serialized ModelProto. */
  serialize(producer = "ctxrec"): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: "", version: OPSET }],
      producerName: producer,
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
