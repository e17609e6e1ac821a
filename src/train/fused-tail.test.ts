// The step's fused tail (loraReduceGuard: the backward's last dA, the loss sums and the divergence guard;
// optimizerFused: the whole optimizer) against the split dispatches it replaces, through whole training steps of
// a mixed sweep with runs that diverge: the same losses, states, factors, moments and last good weights, bit for
// bit.
import { describe, expect, it } from 'vitest';
import { testGpu } from '../test/gpu';
import type { RunSpec } from './config';
import { SweepEngine } from './sweep';
import { TINY, tinySource, tinySweep, tinyWeights } from './tiny-sweep';

const runs: RunSpec[] = [
  { id: 'adamw', optimizer: 'adamw', lr: 1e-2 },
  { id: 'riemannian-adamw', optimizer: 'riemannian-adamw', lr: 1e-2 },
  { id: 'sgd', optimizer: 'sgd', lr: 0.5 },
  { id: 'riemannian-sgd', optimizer: 'riemannian-sgd', lr: 0.2 },
  { id: 'loraplus', optimizer: 'loraplus-adamw', lr: 5e-3 },
  { id: 'adamw@1e38', optimizer: 'adamw', lr: 1e38 }, // diverges at step 2
  { id: 'riemannian-adamw@1e5', optimizer: 'riemannian-adamw', lr: 1e5 },
];

const bits = (x: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(x).buffer));

async function train(fusedTail: boolean) {
  const gpu = await testGpu();
  const config = tinySweep(runs, { steps: 6 });
  const engine = new SweepEngine(gpu, TINY, tinyWeights(), config, tinySource(config), undefined, {
    fusedTail,
  });
  const submit = gpu.submit.bind(gpu);
  const labels: string[] = [];
  gpu.submit = (label, dispatches, ...rest) => {
    if (label === 'step 1') labels.push(...dispatches.map((d) => d.label));
    return submit(label, dispatches, ...rest);
  };
  const losses: number[][] = [];
  const diverged: (number | null)[][] = [];
  try {
    for (let s = 1; s <= 6; s++) {
      engine.submitStep(s % 2 === 0); // with and without the norms' dispatches around the optimizer
      const rep = await engine.report(0, 1);
      losses.push(...rep.losses);
      diverged.push(rep.divergedAtStep);
    }
  } finally {
    gpu.submit = submit;
  }
  const snap = await engine.snapshot();
  engine.destroy();
  return { losses, diverged, snap, labels };
}

describe('the fused step tail', () => {
  it('trains a mixed sweep with diverging runs bit for bit as the split dispatches', async () => {
    const fused = await train(true);
    const split = await train(false);
    // The fused tail's guard rides with the backward's last dA; the split one is sweepGuard after the backward.
    expect(fused.labels.filter((l) => /Guard/.test(l))).toEqual(['loraReduceGuard']);
    expect(split.labels.filter((l) => /Guard/.test(l))).toEqual(['sweepGuard']);
    expect(bits(fused.losses.flat())).toEqual(bits(split.losses.flat()));
    expect(fused.diverged).toEqual(split.diverged);
    // The guard acted: a run diverged, and its last good weights differ from its live ones.
    expect(fused.diverged.at(-1)![5]).toBe(2);
    for (const key of ['A', 'B', 'mA', 'vA', 'mB', 'vB', 'state', 'lastA', 'lastB'] as const) {
      const f = fused.snap[key];
      const s = split.snap[key];
      expect(f, key).toBeDefined();
      expect(bits(f!), key).toEqual(bits(s!));
    }
    expect(bits(fused.snap.lastA!)).not.toEqual(bits(fused.snap.A));
  });
});
