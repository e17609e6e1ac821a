// ONNX weights: read the float32 initializers of a model, and rewrite some of them in place.
//
// Both walk the protobuf wire format down ModelProto.graph (field 7) → GraphProto.initializer (field 5)
// and decode only the TensorProtos with onnx-proto. The rewrite splices bytes: every field outside the
// updated tensors' data is copied verbatim. Decoding the whole model with onnx-proto (ONNX 1.10's schema)
// and re-encoding it would silently drop every field that newer ONNX versions added.
import * as onnxModule from 'onnx-proto';

// onnx-proto is CommonJS (`module.exports = root`): under Node's ESM loader only `default` exists,
// while bundlers may also expose the named export.
const { onnx } = ((onnxModule as unknown as { default?: typeof onnxModule }).default ??
  onnxModule) as typeof onnxModule;

/** An .onnx file that cannot be read: truncated, not ONNX, or weights this reader cannot take. */
export class OnnxError extends Error {
  constructor(reason: string) {
    super(`onnx: ${reason}`);
    this.name = 'OnnxError';
  }
}

export interface OnnxWeight {
  dims: number[];
  data: Float32Array;
}

const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_FLOAT_DATA = 4;
const TENSOR_RAW_DATA = 9;
const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Every FLOAT initializer of the main graph by name (other element types, e.g. int64 shape constants,
 * are left out). Data from raw_data (little-endian) or float_data. Weights stored outside the file
 * (external data) are an error: the browser has only the .onnx bytes.
 */
export function readOnnxWeights(bytes: Uint8Array): Map<string, OnnxWeight> {
  const out = new Map<string, OnnxWeight>();
  forEachInitializer(bytes, (tensorBytes) => {
    const t = decodeTensor(tensorBytes);
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT) return;
    const dims = tensorDims(t);
    const count = dims.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (t.rawData && t.rawData.length > 0) {
      if (t.rawData.length !== 4 * count) {
        throw new OnnxError(
          `initializer "${t.name}" has ${t.rawData.length} bytes of raw_data, dims [${dims.join(', ')}] need ${4 * count}`,
        );
      }
      data = float32FromLE(t.rawData);
    } else {
      if (t.floatData.length !== count) {
        throw new OnnxError(
          `initializer "${t.name}" has ${t.floatData.length} float_data values, dims [${dims.join(', ')}] need ${count}`,
        );
      }
      data = Float32Array.from(t.floatData);
    }
    out.set(t.name, { dims, data });
  });
  return out;
}

/**
 * A copy of the model whose named FLOAT initializers hold new data (same dims), stored as raw_data at
 * the place the old data field had. Everything else is byte-for-byte the input. Every name must exist.
 */
export function replaceOnnxWeights(bytes: Uint8Array, updates: Map<string, Float32Array>): Uint8Array {
  const done = new Set<string>();
  const rewriteGraph = (graph: Uint8Array): Uint8Array =>
    concat(
      rewriteFields(graph, (field, value) => {
        if (field !== GRAPH_INITIALIZER) return undefined;
        const t = decodeTensor(value);
        const data = updates.get(t.name);
        if (data === undefined) return undefined;
        if (t.dataType !== onnx.TensorProto.DataType.FLOAT) {
          throw new OnnxError(`initializer "${t.name}" is not float32 (data_type ${t.dataType})`);
        }
        const dims = tensorDims(t);
        const count = dims.reduce((a, b) => a * b, 1);
        if (data.length !== count) {
          throw new OnnxError(
            `initializer "${t.name}" has dims [${dims.join(', ')}] (${count} values), got ${data.length}`,
          );
        }
        done.add(t.name);
        return rewriteTensorData(value, float32ToLE(data));
      }),
    );
  const out = concat(
    rewriteFields(bytes, (field, value) => (field === MODEL_GRAPH ? rewriteGraph(value) : undefined)),
  );
  const missing = [...updates.keys()].filter((n) => !done.has(n));
  if (missing.length > 0)
    throw new OnnxError(`no initializer named ${missing.map((n) => `"${n}"`).join(', ')}`);
  return out;
}

type DecodedTensor = ReturnType<typeof onnx.TensorProto.decode>;

function decodeTensor(bytes: Uint8Array): DecodedTensor {
  let t: DecodedTensor;
  try {
    t = onnx.TensorProto.decode(bytes);
  } catch (e) {
    throw new OnnxError(`an initializer could not be decoded (${(e as Error).message})`);
  }
  const external = t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || t.externalData.length > 0;
  if (external) {
    const location = t.externalData.find((e) => e.key === 'location')?.value;
    throw new OnnxError(
      `initializer "${t.name}" keeps its data in an external file${location ? ` ("${location}")` : ''}; ` +
        'export the model with its weights inside the .onnx file',
    );
  }
  return t;
}

function tensorDims(t: DecodedTensor): number[] {
  return t.dims.map((d) => (typeof d === 'number' ? d : d.toNumber()));
}

function forEachInitializer(bytes: Uint8Array, visit: (tensor: Uint8Array) => void): void {
  // Protobuf has no magic number: many byte strings (plain text included) parse as some message. A model
  // without a graph is such a case, and must not pass for a model without weights.
  let graphs = 0;
  for (const f of parseFields(bytes, 'ModelProto')) {
    if (f.field !== MODEL_GRAPH || f.wire !== WIRE_BYTES) continue;
    graphs++;
    for (const g of parseFields(f.value, 'GraphProto')) {
      if (g.field === GRAPH_INITIALIZER && g.wire === WIRE_BYTES) visit(g.value);
    }
  }
  if (graphs === 0) throw new OnnxError('not a valid ONNX model (it has no graph)');
}

interface WireField {
  field: number;
  wire: number;
  /** The whole field, tag included. */
  raw: Uint8Array;
  /** The payload of a length-delimited field (empty otherwise). */
  value: Uint8Array;
}

/** The top-level fields of a protobuf message, in order. */
function parseFields(buf: Uint8Array, what: string): WireField[] {
  const fields: WireField[] = [];
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) break;
      const b = buf[pos++];
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new OnnxError(`not a valid ONNX model (truncated or corrupt ${what})`);
  };
  while (pos < buf.length) {
    const start = pos;
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    let value = buf.subarray(0, 0);
    if (wire === WIRE_VARINT) varint();
    else if (wire === WIRE_FIXED64) pos += 8;
    else if (wire === WIRE_FIXED32) pos += 4;
    else if (wire === WIRE_BYTES) {
      const len = varint();
      value = buf.subarray(pos, pos + len);
      pos += len;
    } else throw new OnnxError(`not a valid ONNX model (wire type ${wire} in ${what})`);
    if (field === 0 || pos > buf.length)
      throw new OnnxError(`not a valid ONNX model (truncated or corrupt ${what})`);
    fields.push({ field, wire, raw: buf.subarray(start, pos), value });
  }
  return fields;
}

/**
 * Copy a message's fields as chunks, replacing the payload of length-delimited fields for which
 * `replace` returns new bytes (undefined keeps the field as it is).
 */
function rewriteFields(
  buf: Uint8Array,
  replace: (field: number, value: Uint8Array) => Uint8Array | undefined,
): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (const f of parseFields(buf, 'message')) {
    const payload = f.wire === WIRE_BYTES ? replace(f.field, f.value) : undefined;
    chunks.push(payload === undefined ? f.raw : lengthDelimited(f.field, payload));
  }
  return chunks;
}

/** The tensor with its data fields (float_data, raw_data) replaced by one raw_data at the first one's place. */
function rewriteTensorData(tensor: Uint8Array, raw: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [];
  let placed = false;
  for (const f of parseFields(tensor, 'TensorProto')) {
    if (f.field === TENSOR_FLOAT_DATA || f.field === TENSOR_RAW_DATA) {
      if (!placed) chunks.push(lengthDelimited(TENSOR_RAW_DATA, raw));
      placed = true;
    } else chunks.push(f.raw);
  }
  if (!placed) chunks.push(lengthDelimited(TENSOR_RAW_DATA, raw));
  return concat(chunks);
}

/** A length-delimited protobuf field (tag, length, payload). */
export function lengthDelimited(field: number, payload: Uint8Array): Uint8Array {
  return concat([encodeVarint(field * 8 + WIRE_BYTES), encodeVarint(payload.length), payload]);
}

export function encodeVarint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Uint8Array.from(out);
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function float32FromLE(raw: Uint8Array): Float32Array {
  const out = new Float32Array(raw.length / 4);
  if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(raw);
  else {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < bits.length; i++) bits[i] = view.getUint32(4 * i, true);
  }
  return out;
}

/** Float32 values as little-endian bytes (a view of them, not a copy, on a little-endian host). */
export function float32ToLE(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < bits.length; i++) view.setUint32(4 * i, bits[i], true);
  return out;
}
