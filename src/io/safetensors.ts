// safetensors read/write (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length n, n bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}},
// then the data buffer (offsets relative to its start), little-endian, row-major.
//
// The writer follows the reference serializer so our files match what Python's save_file writes:
// "__metadata__" first, tensors sorted by name and packed in that order, compact JSON with keys in the
// order dtype, shape, data_offsets, and the header padded with spaces to a multiple of 8 bytes.
// Float32 data is copied byte for byte (NaN payloads and -0 survive).

/** A safetensors file that cannot be read: truncated, not safetensors, or a header that lies. */
export class SafetensorsError extends Error {
  constructor(reason: string) {
    super(`safetensors: ${reason}`);
    this.name = 'SafetensorsError';
  }
}

export interface Tensor {
  shape: number[];
  /** Row-major, length = product of shape. */
  data: Float32Array;
}

export interface TensorInfo {
  dtype: string;
  shape: number[];
  /** [begin, end) in bytes, relative to the data buffer. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Byte offset of the data buffer in the file (8 + header length). */
  dataStart: number;
}

/** Bytes per element of every dtype the format defines (sub-byte float formats are not supported here). */
export const DTYPE_SIZES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** dtypes readSafetensors converts to float32 (F32 exactly; F16/BF16 exactly; F64 rounded). */
export const READABLE_DTYPES: readonly string[] = ['F32', 'F16', 'BF16', 'F64'];

// The reference implementation refuses headers above 100 MB; so do we, before parsing JSON.
const MAX_HEADER_BYTES = 100_000_000;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Parse and validate the header (any dtype): offsets inside the file, sizes = shape × dtype size, no overlap. */
export function readSafetensorsHeader(bytes: Uint8Array): SafetensorsHeader {
  if (bytes.length < 8)
    throw new SafetensorsError(`file too short (${bytes.length} bytes) for the header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(0, true) + view.getUint32(4, true) * 0x1_0000_0000;
  if (n > MAX_HEADER_BYTES) throw new SafetensorsError(`header length ${n} is too large`);
  if (8 + n > bytes.length) {
    throw new SafetensorsError(
      `header length ${n} runs past the end of the file (${bytes.length} bytes): the file is truncated, or not safetensors`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new SafetensorsError(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new SafetensorsError('the header is not a JSON object');
  }
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new SafetensorsError('"__metadata__" must be an object of strings');
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new SafetensorsError(`metadata "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    tensors.set(name, parseTensorInfo(name, value, dataLength));
  }
  // As the reference reader: the tensors tile the data buffer exactly (in any header order). No two
  // share bytes (empty tensors occupy nothing), and no byte is left over: a gap or a tail means the
  // offsets lie (or another file was appended), and reading on would hand out the wrong bytes.
  const spans = [...tensors.entries()]
    .filter(([, t]) => t.dataOffsets[1] > t.dataOffsets[0])
    .sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0]);
  let covered = 0;
  for (let i = 0; i < spans.length; i++) {
    const [begin, end] = spans[i][1].dataOffsets;
    if (begin < covered)
      throw new SafetensorsError(`tensors "${spans[i - 1][0]}" and "${spans[i][0]}" overlap`);
    if (begin > covered) {
      throw new SafetensorsError(
        `bytes ${covered}..${begin} of the data belong to no tensor (before "${spans[i][0]}"): the header's offsets are wrong`,
      );
    }
    covered = end;
  }
  if (covered !== dataLength) {
    throw new SafetensorsError(
      `the file has ${dataLength - covered} bytes after the last tensor's data: the header's offsets are wrong, or the file is not one safetensors file`,
    );
  }
  return { tensors, metadata, dataStart };
}

function parseTensorInfo(name: string, value: unknown, dataLength: number): TensorInfo {
  const bad = (what: string) => new SafetensorsError(`tensor "${name}": ${what}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad('expected {dtype, shape, data_offsets}');
  const v = value as Record<string, unknown>;
  const dtype = v.dtype;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZES))
    throw bad(`unknown dtype ${JSON.stringify(dtype)}`);
  const isIndex = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (!Array.isArray(v.shape) || !v.shape.every(isIndex))
    throw bad('shape must be an array of non-negative integers');
  const off = v.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every(isIndex)) {
    throw bad('data_offsets must be [begin, end] non-negative integers');
  }
  const [begin, end] = off as [number, number];
  if (begin > end) throw bad(`data_offsets [${begin}, ${end}] are reversed`);
  if (end > dataLength) {
    throw bad(
      `data_offsets [${begin}, ${end}] run past the data (${dataLength} bytes): the file is truncated, or its header is wrong`,
    );
  }
  const shape = v.shape as number[];
  const want = shape.reduce((a, b) => a * b, 1) * DTYPE_SIZES[dtype];
  if (end - begin !== want) {
    throw bad(`holds ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${want}`);
  }
  return { dtype, shape: [...shape], dataOffsets: [begin, end] };
}

/**
 * Read every tensor (or those `wanted` selects) as float32 (see READABLE_DTYPES); other dtypes are an
 * error naming the tensor. The whole header is validated either way.
 */
export function readSafetensors(
  bytes: Uint8Array,
  wanted: (name: string) => boolean = () => true,
): {
  tensors: Map<string, Tensor & { dtype: string }>;
  metadata: Record<string, string>;
} {
  const header = readSafetensorsHeader(bytes);
  const tensors = new Map<string, Tensor & { dtype: string }>();
  for (const [name, info] of header.tensors) {
    if (!wanted(name)) continue;
    const raw = bytes.subarray(
      header.dataStart + info.dataOffsets[0],
      header.dataStart + info.dataOffsets[1],
    );
    tensors.set(name, { dtype: info.dtype, shape: info.shape, data: toFloat32(name, info.dtype, raw) });
  }
  return { tensors, metadata: header.metadata };
}

/** Write float32 tensors (and optional string metadata) as the reference serializer does. */
export function writeSafetensors(
  tensors: Map<string, Tensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = [...tensors.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    const sorted: Record<string, string> = {};
    for (const k of Object.keys(metadata).sort()) {
      if (typeof metadata[k] !== 'string') throw new Error(`safetensors: metadata "${k}" is not a string`);
      sorted[k] = metadata[k];
    }
    header.__metadata__ = sorted;
  }
  let offset = 0;
  for (const name of names) {
    if (name === '' || name === '__metadata__') throw new Error(`safetensors: invalid tensor name "${name}"`);
    const t = tensors.get(name)!;
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(`safetensors: tensor "${name}": shape [${t.shape.join(', ')}] is not valid`);
    }
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new Error(
        `safetensors: tensor "${name}": shape [${t.shape.join(', ')}] needs ${count} values, got ${t.data.length}`,
      );
    }
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const n = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + n + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, n % 0x1_0000_0000, true);
  view.setUint32(4, Math.floor(n / 0x1_0000_0000), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let at = 8 + n;
  for (const name of names) {
    const data = tensors.get(name)!.data;
    writeF32LE(out, at, data);
    at += 4 * data.length;
  }
  return out;
}

function writeF32LE(out: Uint8Array, at: number, data: Float32Array): void {
  if (LITTLE_ENDIAN_HOST) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    return;
  }
  // Through the integer view: a float round-trip through a JS number may canonicalise NaN payloads.
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const view = new DataView(out.buffer, out.byteOffset + at, data.byteLength);
  for (let i = 0; i < bits.length; i++) view.setUint32(4 * i, bits[i], true);
}

function toFloat32(name: string, dtype: string, raw: Uint8Array): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(raw.length / 4);
      if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(raw);
      else {
        const bits = new Uint32Array(out.buffer);
        for (let i = 0; i < bits.length; i++) bits[i] = view.getUint32(4 * i, true);
      }
      return out;
    }
    case 'F16': {
      const out = new Float32Array(raw.length / 2);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < bits.length; i++) bits[i] = f16BitsToF32Bits(view.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: exact, payloads included.
      const out = new Float32Array(raw.length / 2);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < bits.length; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'F64': {
      const out = new Float32Array(raw.length / 8);
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    default:
      throw new SafetensorsError(
        `tensor "${name}" has dtype ${dtype}; only ${READABLE_DTYPES.join(', ')} can be read as float32`,
      );
  }
}

/** IEEE binary16 bits → binary32 bits, exact (subnormals normalised; Inf/NaN keep sign and payload). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  let e = 113; // 127 − 15 + 1: the exponent of a subnormal's leading bit once shifted into place
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}
