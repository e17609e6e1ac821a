// A model's fingerprint: a cheap, deterministic 64-bit hash of its config and weights, kept in checkpoints
// and results so that a resume refuses another model of the same name (a user's checkpoints are often all
// called "model"). It tells different checkpoints apart; it is not a checksum against tampering.
import type { LabGptConfig, Weights } from './config';

/**
 * Every SAMPLE_STRIDE-th float of each tensor is hashed (from its first), with its last float, its name
 * and its length: a sample, so that a 500 MB model hashes in milliseconds. Two trainings of one shape
 * differ in nearly every weight, so they differ in the sample; a change confined to unsampled weights is
 * not seen. A prime stride, so that no row length of a tensor lines the sample up with one column.
 */
export const SAMPLE_STRIDE = 997;

/** The config's fields, in a fixed order (a new field of LabGptConfig belongs here too). */
const CONFIG_KEYS: readonly (keyof LabGptConfig)[] = [
  'n_layer',
  'n_head',
  'n_embd',
  'n_positions',
  'vocab_size',
  'layer_norm_epsilon',
];

/** Two 32-bit multiply-xor lanes (cyrb53's mix) over 32-bit words, finished into 64 bits. */
class Hash64 {
  private h1 = 0xdeadbeef;
  private h2 = 0x41c6ce57;

  word(w: number): void {
    this.h1 = Math.imul(this.h1 ^ w, 2654435761);
    this.h2 = Math.imul(this.h2 ^ w, 1597334677);
  }

  text(s: string): void {
    this.word(s.length);
    for (let i = 0; i < s.length; i++) this.word(s.charCodeAt(i));
  }

  hex(): string {
    let h1 = Math.imul(this.h1 ^ (this.h1 >>> 16), 2246822507);
    h1 ^= Math.imul(this.h2 ^ (this.h2 >>> 13), 3266489909);
    let h2 = Math.imul(this.h2 ^ (this.h2 >>> 16), 2246822507);
    h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    const hex = (h: number) => (h >>> 0).toString(16).padStart(8, '0');
    return hex(h2) + hex(h1);
  }
}

/** 16 hex digits over the config and a sample of the weights (see SAMPLE_STRIDE). */
export function modelFingerprint(cfg: LabGptConfig, weights: Weights): string {
  const h = new Hash64();
  // The config's numbers as float64 bits (layer_norm_epsilon is not an integer).
  const config = new Uint32Array(new Float64Array(CONFIG_KEYS.map((k) => cfg[k])).buffer);
  for (const w of config) h.word(w);
  for (const name of [...weights.keys()].sort()) {
    const w = weights.get(name)!;
    const bits = new Uint32Array(w.buffer, w.byteOffset, w.length); // the floats' bits, as stored
    h.text(name);
    h.word(w.length);
    for (let i = 0; i < bits.length; i += SAMPLE_STRIDE) h.word(bits[i]);
    if (bits.length > 0) h.word(bits[bits.length - 1]);
  }
  return h.hex();
}

/** How messages name a model: its name and the first 8 digits of its fingerprint, when known. */
export function describeModel(name: string, fingerprint?: string): string {
  return fingerprint ? `'${name}' (${fingerprint.slice(0, 8)})` : `'${name}'`;
}
