// Telling a binary file (an image renamed .txt, a model, an archive) from text before parsing it, so the
// user hears "this is a PNG image" instead of a puzzling UTF-8 or JSON error, or worse, a model trained
// on compressed bytes. Known signatures first (some binary formats begin with printable ASCII, e.g. PDF),
// then NUL bytes near the start, which no text file has and almost every binary format does. Signatures
// that are printable text are kept long enough (or followed by a NUL) not to catch a text by chance.

/** How far into the file NUL bytes mark it as binary (later ones are reported as bad lines). */
export const BINARY_SNIFF_BYTES = 8192;

interface Signature {
  what: string;
  /** Bytes at `at` (default 0); a number matches itself, null matches any byte. */
  bytes: readonly (number | null)[];
  at?: number;
}

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

const SIGNATURES: readonly Signature[] = [
  { what: 'PNG image', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { what: 'JPEG image', bytes: [0xff, 0xd8, 0xff] },
  { what: 'GIF image', bytes: ascii('GIF87a') },
  { what: 'GIF image', bytes: ascii('GIF89a') },
  { what: 'WebP image', bytes: [...ascii('RIFF'), null, null, null, null, ...ascii('WEBP')] },
  { what: 'WAV audio', bytes: [...ascii('RIFF'), null, null, null, null, ...ascii('WAVE')] },
  { what: 'AVI video', bytes: [...ascii('RIFF'), null, null, null, null, ...ascii('AVI ')] },
  { what: 'TIFF image', bytes: [0x49, 0x49, 0x2a, 0x00] },
  { what: 'TIFF image', bytes: [0x4d, 0x4d, 0x00, 0x2a] },
  { what: 'PDF document', bytes: ascii('%PDF-') },
  { what: 'ZIP archive, e.g. .xlsx or .docx', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { what: 'ZIP archive', bytes: [0x50, 0x4b, 0x05, 0x06] },
  { what: 'ZIP archive', bytes: [0x50, 0x4b, 0x07, 0x08] },
  { what: 'Microsoft Office (OLE) document', bytes: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1] },
  { what: 'gzip archive', bytes: [0x1f, 0x8b] },
  { what: 'bzip2 archive', bytes: [...ascii('BZh'), null, ...ascii('1AY&SY')] },
  { what: '7z archive', bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
  { what: 'xz archive', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { what: 'zstd archive', bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { what: 'ELF executable', bytes: [0x7f, 0x45, 0x4c, 0x46] },
  { what: 'WebAssembly module', bytes: [0x00, 0x61, 0x73, 0x6d] },
  { what: 'MP3 audio', bytes: [...ascii('ID3'), null, 0x00] },
  { what: 'MP4/MOV video', bytes: ascii('ftyp'), at: 4 },
  { what: 'Ogg media file', bytes: [...ascii('OggS'), 0x00] },
  { what: 'FLAC audio', bytes: [...ascii('fLaC'), null, 0x00] },
  { what: 'SQLite database', bytes: [...ascii('SQLite format 3'), 0x00] },
  { what: 'NumPy array file', bytes: [0x93, ...ascii('NUMPY')] },
];

function matches(bytes: Uint8Array, s: Signature): boolean {
  const at = s.at ?? 0;
  if (bytes.length < at + s.bytes.length) return false;
  return s.bytes.every((b, i) => b === null || bytes[at + i] === b);
}

/** safetensors: an 8-byte little-endian header length that fits the file, then a JSON object. */
function isSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10 || bytes[8] !== 0x7b || bytes[9] !== 0x22) return false;
  const n = bytes[0] + bytes[1] * 2 ** 8 + bytes[2] * 2 ** 16 + bytes[3] * 2 ** 24;
  return bytes[4] === 0 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0 && n <= bytes.length - 8;
}

/** ONNX (protobuf ModelProto): field 1 ir_version as a small varint, then another field's tag. */
function isOnnx(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0x08 && bytes[1] >= 1 && bytes[1] <= 15 && bytes[2] === 0x12;
}

/** Python pickle (old PyTorch .bin/.pt files): PROTO opcode 0x80 and a protocol version 2–5. */
function isPickle(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5;
}

/**
 * Why the file is not text, or undefined if it may be. Byte-order marks of UTF-16/32 get their own reason:
 * such a file is text, only in an encoding this tool does not read.
 */
export function notTextReason(bytes: Uint8Array): string | undefined {
  const b = bytes;
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0)
    return 'this is UTF-32 text (it starts with a UTF-32 byte-order mark): save it as UTF-8';
  if (b.length >= 2 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff)))
    return 'this is UTF-16 text (it starts with a UTF-16 byte-order mark): save it as UTF-8';
  const sig = SIGNATURES.find((s) => matches(b, s))?.what;
  const kind =
    sig ??
    (isSafetensors(b)
      ? 'safetensors weights'
      : isOnnx(b)
        ? 'ONNX model'
        : isPickle(b)
          ? 'Python pickle, e.g. PyTorch weights'
          : undefined);
  if (kind) return `this looks like a binary file (${kind}), not text`;
  const nul = b.subarray(0, BINARY_SNIFF_BYTES).indexOf(0);
  if (nul >= 0) {
    // Text in UTF-16 without a byte-order mark: every other byte is NUL.
    const head = b.subarray(0, Math.min(b.length, 64) & ~1);
    const evenNul = head.filter((_, i) => i % 2 === 0 && head[i] === 0).length;
    const oddNul = head.filter((_, i) => i % 2 === 1 && head[i] === 0).length;
    if (head.length >= 8 && Math.max(evenNul, oddNul) === head.length / 2 && Math.min(evenNul, oddNul) === 0)
      return 'this looks like UTF-16 text (every other byte is NUL): save it as UTF-8';
    return `this looks like a binary file (a NUL byte at byte offset ${nul}), not text`;
  }
  return undefined;
}
