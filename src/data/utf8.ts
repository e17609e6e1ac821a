// UTF-8 validation that says where: the line and byte offset of every line that is not valid UTF-8 text
// or holds a NUL byte. The model is byte-level and could train on any bytes, but a file in Latin-1 or with
// binary junk inside is almost always a mistake the user wants to hear about (and fix, or skip).
//
// Linear in the file: valid files take the native decoder's fast path; only a bad file is walked here.

export interface BadTextLine {
  /** 1-based line number. */
  line: number;
  /** [start, end) bytes of the line in the scanned buffer, its line break included. */
  start: number;
  end: number;
  reason: string;
}

export interface TextScanOptions {
  /** Report every bad line (skipping mode) instead of stopping at the first. */
  all: boolean;
  /** A CR not followed by LF also ends a line (the CSV reader counts lines so). */
  loneCr: boolean;
  /** Added to byte offsets in messages: the scanned buffer may start after a byte-order mark. */
  offsetBase: number;
}

/**
 * The text of `bytes` and its bad lines. When there are none the text is exact; otherwise every invalid
 * sequence is U+FFFD in it (never a line break, so line numbers stay those of the file).
 */
export function readText(bytes: Uint8Array, opts: TextScanOptions): { text: string; bad: BadTextLine[] } {
  const text = validText(bytes);
  if (text !== undefined) return { text, bad: [] };
  const bad = scanLines(bytes, opts);
  return { text: new TextDecoder('utf-8', { fatal: false }).decode(bytes), bad };
}

/** The bad lines of `bytes` (see readText): for txt, which keeps the bytes and needs no text. */
export function findBadTextLines(bytes: Uint8Array, opts: TextScanOptions): BadTextLine[] {
  return validText(bytes) !== undefined ? [] : scanLines(bytes, opts);
}

/** The text when it is valid UTF-8 without NUL bytes (the native decoder is the fast path), else undefined. */
function validText(bytes: Uint8Array): string | undefined {
  if (bytes.indexOf(0) >= 0) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function scanLines(bytes: Uint8Array, opts: TextScanOptions): BadTextLine[] {
  const out: BadTextLine[] = [];
  const n = bytes.length;
  let line = 1;
  let lineStart = 0;
  let reason: string | undefined;
  const endLine = (end: number) => {
    if (reason !== undefined) out.push({ line, start: lineStart, end, reason });
    reason = undefined;
    line++;
    lineStart = end;
  };
  const where = (i: number) => `byte offset ${opts.offsetBase + i} (byte ${i - lineStart + 1} of the line)`;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      if (b === 0x0a || (b === 0x0d && opts.loneCr && bytes[i] !== 0x0a)) {
        endLine(i);
        if (!opts.all && out.length > 0) return out;
      } else if (b === 0 && reason === undefined) {
        reason = `a NUL byte at ${where(i - 1)}: binary data inside a text file`;
      }
      continue;
    }
    const len = sequenceLength(bytes, i);
    if (len === 0) {
      reason ??=
        `not valid UTF-8 text: byte 0x${b.toString(16).toUpperCase().padStart(2, '0')} at ${where(i)}; ` +
        'save the file as UTF-8';
      i++;
    } else i += len;
  }
  if (lineStart < n) endLine(n);
  return opts.all ? out : out.slice(0, 1);
}

/** Length of the well-formed UTF-8 sequence at i (Unicode Table 3-7), or 0 if there is none. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i];
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0; // no UTF-16 surrogates
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0; // ≤ U+10FFFF
  return 0;
}
