// A diverged run exports its last good weights: those its last loss that passed the guard was measured on.
import { describe, expect, it } from 'vitest';
import { SweepEngine } from './sweep';
import { TINY, tinySource, tinySweep, tinyWeights } from './tiny-sweep';
import { testGpu } from '../test/gpu';
import { readSafetensors, writeSafetensors } from '../io/safetensors';
import type { RunSpec } from './config';

const runs: RunSpec[] = [
  { id: 'adamw@1e-2', optimizer: 'adamw', lr: 1e-2 },
  { id: 'adamw@1e38', optimizer: 'adamw', lr: 1e38 },
  { id: 'adamw@1e5', optimizer: 'adamw', lr: 1e5 }, // finite weights, NaN loss from step 4 on
];

describe('last good weights of a diverged run', () => {
  it('adapter(i) of a run diverged at step N is its weights after N − 2 updates (finite), also through a checkpoint', async () => {
    const gpu = await testGpu();
    const config = tinySweep(runs, { steps: 8 });
    const source = tinySource(config);
    const engine = new SweepEngine(gpu, TINY, tinyWeights(), config, source);
    const { SA, SB } = engine.layout;
    const R = runs.length;
    // after[k]: every run's weights after k updates (read from the engine's live A/B).
    const after = [await engine.snapshot()];
    const divergedAt: (number | null)[] = Array<number | null>(R).fill(null);
    for (let s = 1; s <= 8; s++) {
      engine.submitStep();
      const rep = await engine.report(0, 1);
      after.push(await engine.snapshot());
      rep.divergedAtStep.forEach((d, i) => (divergedAt[i] = d));
    }
    expect(divergedAt[0]).toBeNull();
    expect(divergedAt[1]).toBe(2); // the first update overflows: its last good weights are the initial ones
    expect(divergedAt[2]).toBeGreaterThanOrEqual(3); // last good weights: after N − 2 ≥ 1 updates
    for (const i of [1, 2]) {
      const n = divergedAt[i];
      expect(n, runs[i].id).not.toBeNull();
      const got = await engine.adapter(i);
      expect(got.divergedAtStep).toBe(n);
      const want = after[n! - 2];
      expect(got.A).toEqual(want.A.slice(i * SA, (i + 1) * SA));
      expect(got.B).toEqual(want.B.slice(i * SB, (i + 1) * SB));
      expect(got.A.every(Number.isFinite) && got.B.every(Number.isFinite), runs[i].id).toBe(true);
    }
    // The frozen weights of 1e38 went non-finite (what its export used to carry).
    const live = after[8];
    expect([...live.A.slice(SA, 2 * SA), ...live.B.slice(SB, 2 * SB)].some((x) => !Number.isFinite(x))).toBe(
      true,
    );
    // A live run's adapter is its current weights.
    const calm = await engine.adapter(0);
    expect(calm.divergedAtStep).toBeNull();
    expect(calm.A).toEqual(live.A.slice(0, SA));

    // Through a checkpoint: the last good weights are saved and restored.
    const bytes = await engine.checkpoint();
    const restored = SweepEngine.restore(gpu, TINY, tinyWeights(), bytes, source);
    for (let i = 0; i < R; i++) expect(await restored.adapter(i)).toEqual(await engine.adapter(i));
    restored.destroy();
    // A checkpoint from before last good weights existed still loads: they start as copies of A / B.
    const { tensors, metadata } = readSafetensors(bytes);
    tensors.delete('lastA');
    tensors.delete('lastB');
    const old = SweepEngine.restore(gpu, TINY, tinyWeights(), writeSafetensors(tensors, metadata), source);
    expect(await old.adapter(0)).toEqual(calm);
    const snap = await old.snapshot();
    expect(snap.lastA).toEqual(live.A);
    expect(snap.lastB).toEqual(live.B);
    old.destroy();
    engine.destroy();
  });
});
