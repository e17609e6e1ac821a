import * as onnxModule from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { OnnxError, readOnnxWeights, replaceOnnxWeights } from './onnx';

const { onnx } = ((onnxModule as unknown as { default?: typeof onnxModule }).default ??
  onnxModule) as typeof onnxModule;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const leBytes = (a: Float32Array) => new Uint8Array(a.slice().buffer);

const W = new Float32Array([1, -2, 3.5, -0, 1e-30, 6]);
new Uint32Array(W.buffer)[4] = 0x7fc0beef; // a NaN payload must survive raw_data
const bias = [0.25, -0.5];

/** Y = X·W + b with W [3, 2] in raw_data, b [2] in float_data, and an int64 initializer (skipped). */
function graph(extra: OnnxTypes.ITensorProto[] = []): OnnxTypes.IGraphProto {
  const vi = (name: string, dims: number[]) => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  return {
    name: 'tiny',
    docString: 'a tiny test graph',
    node: [
      { opType: 'MatMul', input: ['X', 'W'], output: ['XW'], name: 'mm' },
      {
        opType: 'Add',
        input: ['XW', 'b'],
        output: ['Y'],
        name: 'add',
        attribute: [
          { name: 'note', type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode('x') },
        ],
      },
    ],
    initializer: [
      {
        name: 'W',
        dims: [3, 2],
        dataType: FLOAT,
        rawData: leBytes(W),
        docString: 'after raw_data on the wire',
      },
      { name: 'b', dims: [2], dataType: FLOAT, floatData: bias },
      { name: 'shape', dims: [2], dataType: onnx.TensorProto.DataType.INT64, int64Data: [1, 2] },
      ...extra,
    ],
    input: [vi('X', [1, 3])],
    output: [vi('Y', [1, 2])],
  };
}

function model(g: OnnxTypes.IGraphProto = graph()): Uint8Array {
  const m = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'lora-lab-test',
    opsetImport: [{ domain: '', version: 17 }],
    graph: g,
    metadataProps: [{ key: 'k', value: 'v' }],
  });
  return onnx.ModelProto.encode(m).finish();
}

// Issue #13: a user's .onnx that is truncated, garbage or not ONNX at all gets an OnnxError.
describe('readOnnxWeights on bad files', () => {
  const errorOf = (bytes: Uint8Array): unknown => {
    try {
      readOnnxWeights(bytes);
    } catch (e) {
      return e;
    }
    return undefined;
  };
  it('a model cut at any length is an OnnxError or (cut between graph fields) loses no weight silently', () => {
    const m = model();
    const full = readOnnxWeights(m);
    for (let n = 0; n < m.length; n++) {
      const e = errorOf(m.subarray(0, n));
      if (e === undefined) {
        // Protobuf can end cleanly after any field: then every initializer read must be whole.
        for (const [name, w] of readOnnxWeights(m.subarray(0, n))) expect(w).toEqual(full.get(name));
      } else expect(e, `cut at ${n}`).toBeInstanceOf(OnnxError);
    }
  });
  it('text, empty and random bytes are not a model', () => {
    expect((errorOf(new Uint8Array(0)) as Error).message).toBe(
      'onnx: not a valid ONNX model (it has no graph)',
    );
    expect(errorOf(new TextEncoder().encode('{"text": "hello"}\n'))).toBeInstanceOf(OnnxError);
    let seed = 7;
    for (let k = 0; k < 500; k++) {
      const b = Uint8Array.from(
        { length: 1 + (k % 300) },
        () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24,
      );
      const e = errorOf(b);
      if (e !== undefined) expect(e).toBeInstanceOf(OnnxError);
    }
  });
});

describe('readOnnxWeights', () => {
  it('reads raw_data and float_data float initializers', () => {
    const w = readOnnxWeights(model());
    expect([...w.keys()]).toEqual(['W', 'b']);
    expect(w.get('W')!.dims).toEqual([3, 2]);
    expect(bitsOf(w.get('W')!.data)).toEqual(bitsOf(W));
    expect(w.get('b')).toEqual({ dims: [2], data: new Float32Array(bias) });
  });

  it('names what is wrong', () => {
    const ext = {
      name: 'E',
      dims: [2],
      dataType: FLOAT,
      dataLocation: 1,
      externalData: [{ key: 'location', value: 'model.onnx.data' }],
    };
    expect(() => readOnnxWeights(model(graph([ext])))).toThrow(
      'onnx: initializer "E" keeps its data in an external file ("model.onnx.data")',
    );
    const short = { name: 'S', dims: [4], dataType: FLOAT, rawData: new Uint8Array(12) };
    expect(() => readOnnxWeights(model(graph([short])))).toThrow(
      '"S" has 12 bytes of raw_data, dims [4] need 16',
    );
    const few = { name: 'F', dims: [3], dataType: FLOAT, floatData: [1] };
    expect(() => readOnnxWeights(model(graph([few])))).toThrow(
      '"F" has 1 float_data values, dims [3] need 3',
    );
    expect(() => readOnnxWeights(new Uint8Array([0x3a, 0x20, 0x01]))).toThrow(/not a valid ONNX model/);
  });
});

describe('replaceOnnxWeights', () => {
  const W2 = new Float32Array([9, 8, 7, 6, 5, -0]);
  new Uint32Array(W2.buffer)[0] = 0xffc00001;
  const b2 = new Float32Array([-1, 1e-40]);

  it('rewrites only the initializers’ data', () => {
    const before = model();
    const after = replaceOnnxWeights(
      before,
      new Map([
        ['W', W2],
        ['b', b2],
      ]),
    );
    const w = readOnnxWeights(after);
    expect(bitsOf(w.get('W')!.data)).toEqual(bitsOf(W2));
    expect(bitsOf(w.get('b')!.data)).toEqual(bitsOf(b2));
    expect(w.get('b')!.dims).toEqual([2]);

    // The decoded models agree everywhere except the two tensors' data fields.
    const strip = (bytes: Uint8Array) => {
      const o = onnx.ModelProto.toObject(onnx.ModelProto.decode(bytes), { longs: Number, bytes: Array });
      for (const t of o.graph.initializer)
        if (t.name !== 'shape') [t.rawData, t.floatData] = [undefined, undefined];
      return o;
    };
    expect(strip(after)).toEqual(strip(before));
    expect(readOnnxWeights(replaceOnnxWeights(after, new Map([['b', b2]])))).toEqual(w);
  });

  it('is the identity when raw_data is replaced by the same values', () => {
    const before = model();
    expect(Array.from(replaceOnnxWeights(before, new Map([['W', W]])))).toEqual(Array.from(before));
  });

  it('keeps fields unknown to onnx-proto, which its decode/encode would drop', () => {
    const unknown = Uint8Array.from([0xf8, 0x06, 0x2a]); // field 111, varint 42
    const graphBytes = onnx.GraphProto.encode(graph()).finish();
    const g = new Uint8Array([...graphBytes, ...unknown]);
    const rest = onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ version: 17 }] }).finish();
    const lenBytes: number[] = [];
    for (let n = g.length; ; n = Math.floor(n / 128)) {
      lenBytes.push(n >= 128 ? (n % 128) | 128 : n);
      if (n < 128) break;
    }
    const withUnknown = new Uint8Array([...rest, 0x3a, ...lenBytes, ...g, ...unknown]);
    const reencoded = onnx.ModelProto.encode(onnx.ModelProto.decode(withUnknown)).finish();
    expect(reencoded.length).toBe(withUnknown.length - 2 * unknown.length);

    const after = replaceOnnxWeights(withUnknown, new Map([['W', W2]]));
    expect(Array.from(after.subarray(after.length - 3))).toEqual(Array.from(unknown));
    expect(after.length).toBe(withUnknown.length);
    expect(Array.from(after).join(',')).toContain([...leBytes(W2), 0x62].join(',')); // raw_data, then doc_string (12)
    expect(bitsOf(readOnnxWeights(after).get('W')!.data)).toEqual(bitsOf(W2));
  });

  it('names what is wrong', () => {
    const m = model();
    expect(() =>
      replaceOnnxWeights(
        m,
        new Map([
          ['nope', W2],
          ['W', W2],
        ]),
      ),
    ).toThrow('onnx: no initializer named "nope"');
    expect(() => replaceOnnxWeights(m, new Map([['W', new Float32Array(5)]]))).toThrow(
      'initializer "W" has dims [3, 2] (6 values), got 5',
    );
    expect(() => replaceOnnxWeights(m, new Map([['shape', new Float32Array(2)]]))).toThrow(
      'initializer "shape" is not float32',
    );
  });
});
