// Issue #13: a Cholesky breakdown in the Riemannian preconditioner is counted per run and never puts a NaN
// in an adapter. B with two equal columns makes BᵀB singular; with δ = 1e-12 the float32 pivot of its
// second column is rounding noise, so the factorisation must take its fall-back.
import { describe, expect, it } from 'vitest';
import { SweepEngine } from './sweep';
import { SweepDriver, type SweepEvent } from './driver';
import { TINY, tinySource, tinySweep, tinyWeights } from './tiny-sweep';
import { testGpu } from '../test/gpu';
import { randn } from '../util/random';
import { loraLayout } from '../model/lora-layout';
import { initLora } from '../model/init';
import { collectResults } from './collect';

describe('Cholesky breakdown in a sweep', () => {
  it('is counted in the results, and every adapter and loss stays finite', async () => {
    const gpu = await testGpu();
    const config = tinySweep(
      [
        { id: 'rsgd', optimizer: 'riemannian-sgd', lr: 1e-2, damping: 1e-12 },
        { id: 'radamw', optimizer: 'riemannian-adamw', lr: 1e-2, damping: 1e-12 },
        { id: 'adamw', optimizer: 'adamw', lr: 1e-2 },
      ],
      { steps: 3 },
    );
    const layout = loraLayout(TINY, config.lora);
    const r = layout.r;
    const B = new Float32Array(layout.SB);
    for (const ad of layout.adapters) {
      const column = randn(ad.outDim, 7 + ad.offB, 0.3);
      for (let o = 0; o < ad.outDim; o++) for (let j = 0; j < r; j++) B[ad.offB + o * r + j] = column[o];
    }
    const init = { A: initLora(layout, 5).A, B };
    const engine = new SweepEngine(gpu, TINY, tinyWeights(), config, tinySource(config), init);
    const events: SweepEvent[] = [];
    const driver = new SweepDriver(engine, (e) => events.push(e));
    const results = collectResults(
      engine,
      driver,
      { name: 'tiny', cfg: TINY, fingerprint: '0123456789abcdef' },
      { name: 'tiny.txt', trainTokens: 0, valTokens: 0 },
    );
    await driver.run({ reportEveryMs: 0 });
    const res = results.finish();
    const [rsgd, radamw, adamw] = res.runs;
    expect(rsgd.choleskyFallbacks).toBeGreaterThan(0);
    expect(radamw.choleskyFallbacks).toBeGreaterThan(0);
    expect(adamw.choleskyFallbacks).toBe(0); // no preconditioner, nothing to fall back from
    for (const run of res.runs) {
      expect(run.divergedAtStep, run.id).toBeNull();
      expect(
        run.losses.every((l) => l !== null && Number.isFinite(l)),
        run.id,
      ).toBe(true);
    }
    for (let i = 0; i < engine.R; i++) {
      const { A, B: b } = await engine.adapter(i);
      expect(A.every(Number.isFinite), `A of ${res.runs[i].id}`).toBe(true);
      expect(b.every(Number.isFinite), `B of ${res.runs[i].id}`).toBe(true);
    }
    engine.destroy();
  });
});
