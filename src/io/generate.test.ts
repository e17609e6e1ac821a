import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { InferenceSession } from 'onnxruntime-web/wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSession, generate, runLogits, sampleFrom } from './generate';

const root = (rel: string) => fileURLToPath(new URL(`../../${rel}`, import.meta.url));

interface Fixture {
  dims: number[];
  /** ASCII, so one character is one byte token. */
  input_text: string[];
  logits_f32le_base64: string;
}

function loadFixture(name: string): { fx: Fixture; logits: Float32Array } {
  const fx = JSON.parse(readFileSync(root(`src/io/fixtures/${name}-logits.json`), 'utf8')) as Fixture;
  const raw = Buffer.from(fx.logits_f32le_base64, 'base64');
  const logits = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  return { fx, logits };
}

// Both sides are float32 and sum in different orders. Measured: max 6.5e-5 for lab-gpt-tiny (logits up
// to 27; PyTorch's own float32 logits are 6e-5 from its float64 ones) and 2.3e-5 for lab-gpt. A wrong
// weight or op shows up as 1e-2 or more.
const LOGIT_TOL = 1e-4;

describe.each(['lab-gpt-tiny', 'lab-gpt'])('%s ONNX in onnxruntime-web', (name) => {
  it('computes the logits PyTorch computed at export', async () => {
    const session = await createSession(readFileSync(root(`public/models/${name}/model.onnx`)));
    const { fx, logits } = loadFixture(name);
    const ids = fx.input_text.map((t) => Array.from(new TextEncoder().encode(t)));
    const out = await runLogits(session, ids);
    expect(out.dims).toEqual(fx.dims);
    let maxDiff = 0;
    for (let i = 0; i < logits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out.data[i] - logits[i]));
    expect(maxDiff).toBeLessThan(LOGIT_TOL);
  });
});

describe('generate (lab-gpt-tiny)', () => {
  let bytes: Uint8Array;
  let session: InferenceSession;
  const contextLength = 128; // public/models/lab-gpt-tiny/config.json n_positions
  beforeAll(async () => {
    bytes = readFileSync(root('public/models/lab-gpt-tiny/model.onnx'));
    session = await createSession(bytes);
  });

  it('is reproducible for a seed and differs across seeds', async () => {
    const opts = { maxTokens: 40, temperature: 0.9, topK: 40, contextLength };
    const a = await generate(session, 'It is a truth', { ...opts, seed: 7 });
    const b = await generate(session, 'It is a truth', { ...opts, seed: 7 });
    const c = await generate(session, 'It is a truth', { ...opts, seed: 8 });
    expect(new TextEncoder().encode(a).length).toBeGreaterThan(0);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it('greedy (temperature 0) is deterministic and follows the argmax', async () => {
    const prompt = 'And the LORD said unto';
    const g1 = await generate(session, prompt, { maxTokens: 30, temperature: 0, seed: 1, contextLength });
    const g2 = await generate(session, prompt, { maxTokens: 30, temperature: 0, seed: 99, contextLength });
    expect(g2).toBe(g1);
    // Re-derive the first three greedy bytes from the raw logits.
    const ids = Array.from(new TextEncoder().encode(prompt));
    const expected: number[] = [];
    for (let k = 0; k < 3; k++) {
      const { data } = await runLogits(session, [ids]);
      const last = data.subarray((ids.length - 1) * 256, ids.length * 256);
      let best = 0;
      for (let i = 1; i < 256; i++) if (last[i] > last[best]) best = i;
      expected.push(best);
      ids.push(best);
    }
    expect(Array.from(new TextEncoder().encode(g1)).slice(0, 3)).toEqual(expected);
  });

  it('reads the context length from model bytes and crops the window past it', async () => {
    const prompt = 'Emma Woodhouse, handsome, clever, and rich, with a comfortable home '.repeat(2); // 138 bytes
    const opts = { maxTokens: 12, temperature: 0.8, topK: 20, seed: 3 };
    const fromBytes = await generate(bytes, prompt, opts);
    const fromSession = await generate(session, prompt, { ...opts, contextLength });
    expect(fromBytes).toBe(fromSession);
    await expect(generate(session, prompt, opts)).rejects.toThrow(/contextLength/);
  });

  it('stops at stopByte, honours maxTokens 0, and replaces invalid UTF-8', async () => {
    expect(await generate(session, 'x', { maxTokens: 0, contextLength })).toBe('');
    const line = await generate(session, 'The', {
      maxTokens: 120,
      temperature: 0,
      stopByte: 32,
      contextLength,
    });
    expect(line.endsWith(' ')).toBe(true);
    expect(line.indexOf(' ')).toBe(line.length - 1);
    // At a huge temperature every byte is about equally likely: random bytes are rarely valid UTF-8.
    const noise = await generate(session, '', { maxTokens: 64, temperature: 1000, seed: 5, contextLength });
    expect(noise).toContain('\uFFFD');
  });
});

describe('sampleFrom', () => {
  const logits = new Float32Array([0, Math.log(3), -1e9, Math.log(3)]);
  it('follows the softmax CDF', () => {
    // p = [1/7, 3/7, 0, 3/7]
    expect(sampleFrom(logits, 1, 0, 0.1)).toBe(0);
    expect(sampleFrom(logits, 1, 0, 0.2)).toBe(1);
    expect(sampleFrom(logits, 1, 0, 0.99)).toBe(3);
  });
  it('keeps only the top k, lower byte first on ties', () => {
    for (const u of [0, 0.5, 0.999]) expect(sampleFrom(logits, 1, 1, u)).toBe(1);
    // top 2 = bytes 1 and 3 with p = 1/2 each.
    expect(sampleFrom(logits, 1, 2, 0.49)).toBe(1);
    expect(sampleFrom(logits, 1, 2, 0.51)).toBe(3);
  });
});

describe('generate with a tokenizer.json model (tiny-gpt2, vocabulary 1000)', () => {
  it('encodes with the tokenizer, samples ids past 255, decodes, and stops at a stop sequence', async () => {
    const { loadModelFiles } = await import('./model-files');
    const { writeGpt2Onnx } = await import('./onnx-graph');
    const model = loadModelFiles(
      ['config.json', 'model.safetensors', 'tokenizer.json'].map((n) => ({
        name: `tiny-gpt2/${n}`,
        bytes: new Uint8Array(readFileSync(root(`src/io/fixtures/tiny-gpt2/${n}`))),
      })),
    );
    const tok = model.tokenizer;
    const session = await createSession(writeGpt2Onnx(model.cfg, model.weights));
    const opts = { contextLength: model.cfg.n_positions, tokenizer: tok, temperature: 0 };
    const text = await generate(session, 'The quick brown fox', { ...opts, maxTokens: 8 });
    const ids = tok.encode(text);
    expect(text.length).toBeGreaterThan(0);
    // Greedy on a random tiny model: the ids it picks are the tokenizer's, not bytes.
    expect(ids.some((t) => t > 255)).toBe(true);
    // A stop sequence of the first two ids ends the sample right after them.
    const two = await generate(session, 'The quick brown fox', {
      ...opts,
      maxTokens: 8,
      stopSequences: [ids.slice(0, 2)],
    });
    expect(tok.encode(two)).toEqual(ids.slice(0, 2));
    await expect(runLogits(session, [[1000]], 1000)).rejects.toThrow(/token 1000 is not below 1000/);
    await session.release();
  });
});
