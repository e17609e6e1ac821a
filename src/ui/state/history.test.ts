import { resolveRunHyper } from '../../optim/optimizer';
import { describe, expect, it } from 'vitest';
import { storageErrorText, summarize } from './history';
import { DEFAULT_SETTINGS } from './settings';
import type { SweepResults } from '../../train/results';
import { DEFAULT_SWEEP } from '../../train/config';

// A run's resolved hyper-parameters (results carry them since two-axis sweeps).
const { kind: _kind, ...HYPER } = resolveRunHyper('adamw', {}, DEFAULT_SWEEP.hyper);

describe('history', () => {
  it('names quota errors as such', () => {
    const e = new DOMException('over quota', 'QuotaExceededError');
    expect(storageErrorText(e)).toMatch(/storage for the page is full/);
    expect(storageErrorText(new Error('boom'))).toMatch(/Could not save.*boom/);
  });

  it('summarizes the best non-diverged run', () => {
    const run = (id: string, val: number | null, diverged: number | null) => ({
      id,
      optimizer: id.split('@')[0],
      lr: Number(id.split('@')[1]),
      startStep: 0,
      losses: [3, 2],
      validation: val === null ? [] : [{ step: 2, loss: val }],
      divergedAtStep: diverged,
      stoppedAtStep: null,
      choleskyFallbacks: 0,
      gradNorm: null,
      updateNorm: null,
      hyper: HYPER,
    });
    const results: SweepResults = {
      version: 1,
      config: { ...DEFAULT_SWEEP, runs: [] },
      model: { name: 'lab-gpt-tiny', n_layer: 1, n_head: 2, n_embd: 32, n_positions: 128 },
      dataset: { name: 'd', trainTokens: 1, valTokens: 1 },
      adapter: { vendor: '', architecture: '', description: '' },
      steps: 2,
      timings: { totalSeconds: 1, secondsPerStep: 0.5, tokensPerSec: 1 },
      runs: [run('adamw@0.01', 1.5, null), run('sgd@10', 0.1, 1), run('sgd@0.1', null, null)],
    };
    const s = summarize('x', DEFAULT_SETTINGS, results, false, 5);
    expect(s.best).toEqual({ optimizer: 'adamw', lr: 0.01, loss: 1.5 });
    expect(s.runCount).toBe(3);
  });
});
