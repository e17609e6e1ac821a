import { resolveRunHyper } from '../../optim/optimizer';
import { describe, expect, it } from 'vitest';
import type { FromEngine } from '../../train/messages';
import type { SweepResults } from '../../train/results';
import { DEFAULT_SWEEP, gridRuns } from '../../train/config';
import { IDLE_SWEEP, progressOf, runRows, statusText, sweepReducer, type SweepState } from './sweep';

// A run's resolved hyper-parameters (results carry them since two-axis sweeps).
const { kind: _kind, ...HYPER } = resolveRunHyper('adamw', {}, DEFAULT_SWEEP.hyper);

const runs = gridRuns(['adamw', 'riemannian-adamw'], [0.01, 10]);
const ids = runs.map((r) => r.id);

function start(): SweepState {
  let s = sweepReducer(IDLE_SWEEP, { type: 'starting', sweepId: 's1', runs, totalSteps: 4, nowMs: 100 });
  s = engine(s, {
    type: 'started',
    sweepId: 's1',
    runs: runs.map((spec) => ({ spec, startStep: 0, stoppedAtStep: null })),
    totalSteps: 4,
    tokensPerStep: 32,
    trainTokens: 1000,
    valTokens: 100,
  });
  return s;
}

function engine(s: SweepState, ...messages: FromEngine[]): SweepState {
  return sweepReducer(s, { type: 'engine', messages, nowMs: 500 });
}

function metrics(
  steps: number[],
  losses: number[][],
  diverged: (number | null)[] = [null, null, null, null],
) {
  return {
    type: 'metrics' as const,
    sweepId: 's1',
    runIds: ids,
    steps,
    losses,
    seconds: steps.map((s) => s * 0.5),
    stepsPerSec: 2,
    tokensPerSec: 64,
    choleskyFallbacks: [0, 1, 0, 2],
    divergedAtStep: diverged,
  };
}

describe('sweep state', () => {
  it('appends losses per run, skipping NaN, and marks divergence', () => {
    let s = start();
    s = engine(
      s,
      metrics(
        [1, 2],
        [
          [3, 3, 3, 3],
          [2.9, 2.8, NaN, 5],
        ],
      ),
    );
    expect(s.runs[ids[0]].losses).toEqual([3, 2.9]);
    expect(s.runs[ids[2]].steps).toEqual([1]);
    expect(s.runs[ids[1]].seconds).toEqual([0.5, 1]);
    expect(s.firstLossAtMs).toBe(500);
    s = engine(s, metrics([3], [[2.7, 2.6, NaN, NaN]], [null, null, 2, null]));
    expect(statusText(s.runs[ids[2]].status)).toBe('diverged at step 2');
    expect(s.runs[ids[1]].choleskyFallbacks).toBe(1);
    expect(s.step).toBe(3);
    expect(progressOf(s).fraction).toBe(0.75);
    expect(progressOf(s).etaSeconds).toBe(0.5);
  });

  it('goes back to the checkpoint step after a recovery, then takes the redone steps', () => {
    let s = start();
    s = engine(
      s,
      metrics(
        [1, 2, 3],
        [
          [3, 3, 3, 3],
          [2.9, 2.8, 2.7, 2.6],
          [2.8, 2.7, NaN, 2.5],
        ],
        [null, null, 3, null],
      ),
    );
    s = engine(s, {
      type: 'recovered',
      sweepId: 's1',
      fromStep: 1,
      lostAtStep: 3,
      redoneSteps: 2,
      message: 'The GPU device was lost',
    });
    expect(s.runs[ids[0]].steps).toEqual([1]);
    expect(s.runs[ids[2]].status.kind).toBe('running');
    expect(s.notice).toMatch(/device was lost/);
    s = engine(s, metrics([2], [[2.95, 2.85, 2.75, 2.65]]));
    expect(s.runs[ids[0]].losses).toEqual([3, 2.95]);
  });

  it('ends the sweep on its own error only; a refused add-run is a notice', () => {
    const s = start();
    const refused = engine(s, { type: 'error', message: "a run 'adamw@0.01' is already in this sweep" });
    expect(refused.phase).toBe('running');
    expect(refused.notice).toMatch(/already in this sweep/);
    const failed = engine(s, { type: 'error', sweepId: 's1', message: 'too little data' });
    expect(failed.phase).toBe('error');
    expect(failed.error).toBe('too little data');
  });

  it('ignores messages of another sweep', () => {
    const s = start();
    const other = { ...metrics([1], [[1, 1, 1, 1]]), sweepId: 'old' };
    expect(engine(s, other)).toBe(s);
  });

  it('adds runs, stops runs, and finishes with statuses', () => {
    let s = start();
    s = engine(s, metrics([1], [[3, 3, 3, 3]]));
    const added = { id: 'sgd@0.1', optimizer: 'sgd' as const, lr: 0.1 };
    s = engine(s, {
      type: 'runsChanged',
      sweepId: 's1',
      runs: [
        ...runs.map((spec, i) => ({ spec, startStep: 0, stoppedAtStep: i === 0 ? 1 : null })),
        { spec: added, startStep: 2, stoppedAtStep: null },
      ],
    });
    expect(s.order).toHaveLength(5);
    expect(statusText(s.runs[ids[0]].status)).toBe('stopped at step 1');
    s = engine(s, { type: 'validation', sweepId: 's1', runIds: ids, step: 1, losses: [2, 2.1, NaN, 2.2] });
    expect(s.runs[ids[1]].validation).toEqual([{ step: 1, seconds: 0.5, loss: 2.1 }]);
    const results: SweepResults = {
      version: 1,
      config: { ...DEFAULT_SWEEP, runs: [...runs, added] },
      model: { name: 'lab-gpt-tiny', n_layer: 1, n_head: 2, n_embd: 32, n_positions: 128 },
      dataset: { name: 'x', trainTokens: 1, valTokens: 1 },
      adapter: { vendor: '', architecture: '', description: '' },
      steps: 4,
      timings: { totalSeconds: 2, secondsPerStep: 0.5, tokensPerSec: 64 },
      runs: [...runs, added].map((r, i) => ({
        id: r.id,
        optimizer: r.optimizer,
        lr: r.lr,
        startStep: i === 4 ? 2 : 0,
        losses: [3, 2.5, 2.4, 2.3],
        validation: [{ step: 4, loss: 2.2 }],
        divergedAtStep: i === 3 ? 2 : null,
        stoppedAtStep: i === 0 ? 1 : null,
        choleskyFallbacks: 0,
        gradNorm: null,
        updateNorm: null,
        hyper: HYPER,
      })),
    };
    s = engine(s, { type: 'done', sweepId: 's1', stopped: false, results, adapters: [] });
    expect(s.phase).toBe('finished');
    expect(runRows(s).map((r) => statusText(r.status))).toEqual([
      'stopped at step 1',
      'done',
      'done',
      'diverged at step 2',
      'done',
    ]);
    expect(runRows(s)[1].valLoss).toBe(2.2);
    const reopened = sweepReducer(IDLE_SWEEP, {
      type: 'reopen',
      sweepId: 's1',
      results,
      adapters: [],
      stopped: false,
    });
    expect(reopened.fromHistory).toBe(true);
    expect(reopened.runs[ids[1]].losses).toEqual([3, 2.5, 2.4, 2.3]);
    expect(runRows(reopened).map((r) => statusText(r.status))).toEqual(
      runRows(s).map((r) => statusText(r.status)),
    );
  });
});
