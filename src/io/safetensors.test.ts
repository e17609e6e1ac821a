import { describe, expect, it } from 'vitest';
import { randn } from '../util/random';
import {
  f16BitsToF32Bits,
  readSafetensors,
  readSafetensorsHeader,
  SafetensorsError,
  writeSafetensors,
  type Tensor,
} from './safetensors';

/** A file from a header object and a raw data buffer, padded like the reference writer. */
function rawFile(header: object, data: Uint8Array): Uint8Array {
  let json = JSON.stringify(header);
  while (json.length % 8 !== 0) json += ' ';
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(new TextEncoder().encode(json), 8);
  out.set(data, 8 + json.length);
  return out;
}

const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('safetensors write', () => {
  it('lays the file out as the reference serializer does', () => {
    const tensors = new Map<string, Tensor>([
      ['b', { shape: [2], data: new Float32Array([1, 2]) }],
      ['a', { shape: [], data: new Float32Array([3]) }],
    ]);
    const file = writeSafetensors(tensors, { format: 'pt' });
    const json =
      '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},' +
      '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
    const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
    const view = new DataView(file.buffer);
    expect(view.getUint32(0, true)).toBe(padded.length);
    expect(view.getUint32(4, true)).toBe(0);
    expect(padded.length % 8).toBe(0);
    expect(new TextDecoder().decode(file.subarray(8, 8 + padded.length))).toBe(padded);
    const data = new Float32Array(file.slice(8 + padded.length).buffer);
    expect(Array.from(data)).toEqual([3, 1, 2]);
  });

  it('rejects a shape that does not match the data', () => {
    const t = new Map([['w', { shape: [2, 3], data: new Float32Array(5) }]]);
    expect(() => writeSafetensors(t)).toThrow('tensor "w": shape [2, 3] needs 6 values, got 5');
  });
});

describe('safetensors round trip', () => {
  it.each([
    [[3, 5], [7], [1, 1, 1]],
    [[0, 4], [], [2, 9]],
  ])('is bit-exact for shapes %j %j %j', (...shapes) => {
    const tensors = new Map<string, Tensor>();
    shapes.forEach((shape, i) => {
      const n = shape.reduce((a, b) => a * b, 1);
      tensors.set(`layer.${i}.weight`, { shape, data: randn(n, 11 + i) });
    });
    // Special values: NaN payloads (quiet and signalling, both signs), ±0, ±Inf, a subnormal.
    const special = new Uint32Array([
      0x7fc00001, 0xffa00000, 0x7f800001, 0x80000000, 0x00000000, 0x7f800000, 0xff800000, 1,
    ]);
    tensors.set('special', { shape: [8], data: new Float32Array(special.buffer) });
    const meta = { format: 'pt', note: 'ünïcode ✓' };
    const back = readSafetensors(writeSafetensors(tensors, meta));
    expect(back.metadata).toEqual(meta);
    expect([...back.tensors.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const [name, t] of tensors) {
      const got = back.tensors.get(name)!;
      expect(got.dtype).toBe('F32');
      expect(got.shape).toEqual(t.shape);
      expect(bitsOf(got.data)).toEqual(bitsOf(t.data));
    }
  });

  it('reads data at an unaligned position inside a larger buffer', () => {
    const file = writeSafetensors(new Map([['x', { shape: [3], data: new Float32Array([1.5, -0, 7]) }]]));
    const holder = new Uint8Array(file.length + 3);
    holder.set(file, 3);
    const got = readSafetensors(holder.subarray(3)).tensors.get('x')!.data;
    expect(bitsOf(got)).toEqual(bitsOf(new Float32Array([1.5, -0, 7])));
  });
});

describe('safetensors dtype conversion', () => {
  it('converts every float16 value exactly', () => {
    const f16Value = (h: number) => {
      const s = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      if (e === 31) return m ? NaN : s * Infinity;
      return e === 0 ? s * 2 ** -14 * (m / 1024) : s * 2 ** (e - 15) * (1 + m / 1024);
    };
    const bits = new Uint32Array(1);
    const f = new Float32Array(bits.buffer);
    const wrong: string[] = [];
    for (let h = 0; h < 0x10000; h++) {
      bits[0] = f16BitsToF32Bits(h);
      const want = f16Value(h);
      const ok = Number.isNaN(want)
        ? Number.isNaN(f[0]) && bits[0] >>> 31 === h >>> 15 && (bits[0] & 0x7fffff) === (h & 0x3ff) << 13 // sign, payload
        : Object.is(f[0], want);
      if (!ok) wrong.push(`0x${h.toString(16)}: got ${f[0]}, want ${want}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });

  it('reads F16, BF16 and F64 files as float32', () => {
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00]);
    const bf16 = new Uint16Array([0x3f80, 0xc049, 0x0001, 0xff80]);
    const f64 = new Float64Array([0.1, -1e300, 2 ** -149, 1 / 3]);
    const data = new Uint8Array(12 + 8 + 32);
    data.set(new Uint8Array(f16.buffer), 0);
    data.set(new Uint8Array(bf16.buffer), 12);
    data.set(new Uint8Array(f64.buffer), 20);
    const file = rawFile(
      {
        h: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 12] },
        b: { dtype: 'BF16', shape: [4], data_offsets: [12, 20] },
        d: { dtype: 'F64', shape: [4], data_offsets: [20, 52] },
      },
      data,
    );
    const t = readSafetensors(file).tensors;
    expect(Array.from(t.get('h')!.data)).toEqual([1, -2, 65504, 2 ** -24, -0, Infinity]);
    expect(Object.is(t.get('h')!.data[4], -0)).toBe(true);
    const bfWant = new Float32Array(new Uint32Array(Array.from(bf16, (x) => x << 16)).buffer);
    expect(bitsOf(t.get('b')!.data)).toEqual(bitsOf(bfWant));
    expect(Array.from(t.get('d')!.data)).toEqual(Array.from(f64, Math.fround));
  });
});

describe('safetensors validation', () => {
  const four = new Uint8Array(16);
  const read =
    (header: object, data = four) =>
    () =>
      readSafetensors(rawFile(header, data));
  it('names what is wrong', () => {
    expect(() => readSafetensors(new Uint8Array(5))).toThrow(/file too short/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setUint32(0, 64, true);
    expect(() => readSafetensors(huge)).toThrow('header length 64 runs past the end of the file (16 bytes)');
    const notJson = rawFile({}, four);
    notJson[8] = 0x78;
    expect(() => readSafetensors(notJson)).toThrow(/header is not valid JSON/);
    expect(read({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 24] } })).toThrow(
      'tensor "w": data_offsets [8, 24] run past the data (16 bytes)',
    );
    expect(read({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } })).toThrow(
      'tensor "w": holds 8 bytes but shape [3] of F32 needs 12',
    );
    expect(read({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } })).toThrow(/reversed/);
    expect(
      read({
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
      }),
    ).toThrow('tensors "a" and "b" overlap');
    expect(read({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } })).toThrow(
      'tensor "w": unknown dtype "Q4"',
    );
    expect(read({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } })).toThrow(/shape must be/);
    expect(read({ __metadata__: { a: 1 } })).toThrow('metadata "a" is not a string');
    expect(read({ w: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } })).toThrow(
      'tensor "w" has dtype I64; only F32, F16, BF16, F64 can be read as float32',
    );
  });
  it('accepts empty tensors and reads headers of any dtype', () => {
    const h = readSafetensorsHeader(
      rawFile(
        {
          e: { dtype: 'F32', shape: [0, 3], data_offsets: [0, 0] },
          i: { dtype: 'I64', shape: [2], data_offsets: [0, 16] },
        },
        four,
      ),
    );
    expect(h.tensors.get('e')!.shape).toEqual([0, 3]);
    expect(h.tensors.get('i')!.dataOffsets).toEqual([0, 16]);
  });
});

// Issue #13: user files that are truncated or whose header lies get a SafetensorsError naming the
// problem, never a RangeError from a typed array or a silently partial tensor.
describe('safetensors: bad files', () => {
  const good = writeSafetensors(
    new Map<string, Tensor>([
      ['a', { shape: [2, 3], data: randn(6, 1) }],
      ['b', { shape: [4], data: randn(4, 2) }],
    ]),
    { format: 'pt' },
  );
  const errorOf = (bytes: Uint8Array): unknown => {
    try {
      readSafetensors(bytes);
    } catch (e) {
      return e;
    }
    return undefined;
  };

  it('a file cut at any length is a SafetensorsError', () => {
    for (let n = 0; n < good.length; n++) {
      const e = errorOf(good.subarray(0, n));
      expect(e, `cut at ${n}`).toBeInstanceOf(SafetensorsError);
    }
    expect((errorOf(good.subarray(0, good.length - 3)) as Error).message).toMatch(
      /tensor "b": data_offsets \[24, 40\] run past the data \(37 bytes\): the file is truncated/,
    );
  });

  it('any corrupted header byte gives a SafetensorsError or a consistent file', () => {
    const headerEnd = 8 + new DataView(good.buffer).getUint32(0, true);
    for (let i = 0; i < headerEnd; i++) {
      for (const v of [0x00, 0x22, 0x2c, 0x31, 0x39, 0x5d, 0x7d, 0xff]) {
        const bad = good.slice();
        bad[i] = v;
        const e = errorOf(bad);
        if (e !== undefined) expect(e, `byte ${i} = ${v}`).toBeInstanceOf(SafetensorsError);
      }
    }
  });

  const data = new Uint8Array(16);
  it.each([
    [
      'a gap between tensors',
      {
        a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
      },
      'bytes 4..8 of the data belong to no tensor (before "b")',
    ],
    [
      'data before the first tensor',
      { a: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } },
      'bytes 0..8 of the data belong to no tensor',
    ],
    [
      'bytes after the last tensor',
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } },
      'the file has 8 bytes after the last tensor',
    ],
    [
      'overlap',
      {
        a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
        b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
      },
      'tensors "a" and "b" overlap',
    ],
    [
      'size ≠ shape × dtype',
      { a: { dtype: 'F16', shape: [4], data_offsets: [0, 16] } },
      'holds 16 bytes but shape [4] of F16 needs 8',
    ],
    [
      'non-integer dim',
      { a: { dtype: 'F32', shape: [1.5, 2], data_offsets: [0, 16] } },
      'shape must be an array of non-negative integers',
    ],
    ['dim as a string', { a: { dtype: 'F32', shape: ['4'], data_offsets: [0, 16] } }, 'shape must be'],
    [
      'huge dims',
      { a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 16] } },
      'holds 16 bytes but shape',
    ],
    [
      'three offsets',
      { a: { dtype: 'F32', shape: [4], data_offsets: [0, 8, 16] } },
      'data_offsets must be [begin, end]',
    ],
    [
      'fractional offset',
      { a: { dtype: 'F32', shape: [4], data_offsets: [0, 15.5] } },
      'data_offsets must be',
    ],
    ['an entry that is an array', { a: [1, 2] }, 'tensor "a": expected {dtype, shape, data_offsets}'],
    ['a sub-byte dtype', { a: { dtype: 'F4', shape: [32], data_offsets: [0, 16] } }, 'unknown dtype "F4"'],
  ])('%s', (_, header, message) => {
    const e = errorOf(rawFileOf(header, data));
    expect(e).toBeInstanceOf(SafetensorsError);
    expect((e as Error).message).toContain(message);
  });

  it('a header that is not an object, not UTF-8, or absurdly long', () => {
    expect((errorOf(rawFileOf([], new Uint8Array(0))) as Error).message).toBe(
      'safetensors: the header is not a JSON object',
    );
    const notUtf8 = rawFileOf({}, new Uint8Array(0));
    notUtf8[9] = 0xff;
    expect((errorOf(notUtf8) as Error).message).toMatch(/the header is not valid JSON/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setUint32(4, 1, true); // 2^32 bytes of header
    expect((errorOf(huge) as Error).message).toBe('safetensors: header length 4294967296 is too large');
  });

  it('tensors listed out of order in the header are fine when they tile the data', () => {
    const f = rawFileOf(
      {
        b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      },
      new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer),
    );
    const t = readSafetensors(f).tensors;
    expect(Array.from(t.get('a')!.data)).toEqual([1, 2]);
    expect(Array.from(t.get('b')!.data)).toEqual([3, 4]);
  });
});

function rawFileOf(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
