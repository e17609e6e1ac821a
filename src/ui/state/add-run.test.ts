// "Add run" on a two-axis sweep: the run carries its second value, its id names it as the grid's do, and
// once the engine adds it the table, the heatmap and the loss lines place it.
import { describe, expect, it } from 'vitest';
import { gridRuns, type RunSpec } from '../../train/config';
import type { RunInfo } from '../../train/messages';
import { addedRun } from './add-run';
import { heatmaps, lossPanels } from './chart-data';
import { DEFAULT_CHART } from './settings';
import { IDLE_SWEEP, runRows, sweepReducer, type SweepState } from './sweep';

const grid = [
  ...gridRuns(['adamw'], [1e-3, 1e-2]),
  ...gridRuns(['riemannian-adamw'], [1e-3, 1e-2], { damping: [1e-4, 1e-2] }),
];
const started = (runs: RunSpec[]): SweepState => {
  let s = sweepReducer(IDLE_SWEEP, { type: 'starting', sweepId: 'g', runs, totalSteps: 4, nowMs: 0 });
  const infos: RunInfo[] = runs.map((spec) => ({ spec, startStep: 0, stoppedAtStep: null }));
  s = sweepReducer(s, {
    type: 'engine',
    nowMs: 1,
    messages: [
      {
        type: 'started',
        sweepId: 'g',
        runs: infos,
        totalSteps: 4,
        tokensPerStep: 8,
        trainTokens: 100,
        valTokens: 10,
      },
    ],
  });
  return s;
};
const sweep = started(grid);

const run = (r: ReturnType<typeof addedRun>) => {
  if ('error' in r) throw new Error(r.error.message);
  return r.run;
};

describe('addedRun', () => {
  it('names the second value in the id, as the grid does, and carries it', () => {
    const r = run(addedRun(sweep, 'damping', { optimizer: 'riemannian-adamw', lr: 3e-3, second: 1e-3 }));
    expect(r).toEqual({
      id: 'riemannian-adamw@0.003,damping=1e-3',
      optimizer: 'riemannian-adamw',
      lr: 3e-3,
      damping: 1e-3,
    });
    // The id a grid with that value would give the run.
    const ids = gridRuns(['riemannian-adamw'], [3e-3], { damping: [1e-3, 1e-2] }).map((g) => g.id);
    expect(ids).toContain(r.id);
  });

  it('an optimizer the axis leaves alone gets no value, as in the grid', () => {
    const r = run(addedRun(sweep, 'damping', { optimizer: 'adamw', lr: 3e-3, second: 1e-3 }));
    expect(r).toEqual({ id: 'adamw@0.003', optimizer: 'adamw', lr: 3e-3 });
    const none = run(addedRun(sweep, 'none', { optimizer: 'riemannian-adamw', lr: 3e-3 }));
    expect(none).toEqual({ id: 'riemannian-adamw@0.003', optimizer: 'riemannian-adamw', lr: 3e-3 });
  });

  it.each([
    ['damping', 0, 'The damping δ must be above 0.'],
    ['damping', NaN, 'The damping δ must be a number.'],
    ['damping', undefined, 'The damping δ must be a number.'],
    ['weightDecay', -0.1, 'The weight decay must be 0 or more.'],
    ['beta2', 1, 'The β2 must be at least 0 and below 1.'],
    ['loraplusRatio', Infinity, 'The LoRA+ ratio must be a number.'],
  ] as const)('%s %s is refused beside its field', (axis, second, message) => {
    expect(addedRun(sweep, axis, { optimizer: 'riemannian-adamw', lr: 1e-3, second })).toEqual({
      error: { field: 'second', message },
    });
  });

  it('accepts a weight decay of 0; refuses a bad learning rate beside its field', () => {
    const r = run(addedRun(sweep, 'weightDecay', { optimizer: 'sgd', lr: 0.1, second: 0 }));
    expect(r).toMatchObject({ id: 'sgd@0.1,weight-decay=0', weightDecay: 0 });
    expect(addedRun(sweep, 'damping', { optimizer: 'sgd', lr: 0 })).toEqual({
      error: { field: 'lr', message: 'The learning rate must be a number above 0.' },
    });
  });

  it('refuses a run the sweep has (same optimizer, learning rate and value), not one with a new value', () => {
    expect(addedRun(sweep, 'damping', { optimizer: 'riemannian-adamw', lr: 1e-2, second: 1e-4 })).toEqual({
      error: { field: null, message: 'Riemannian AdamW at 1e-2 with δ 1e-4 is already in the sweep.' },
    });
    expect(addedRun(sweep, 'damping', { optimizer: 'adamw', lr: 1e-2, second: 5 })).toEqual({
      error: { field: null, message: 'AdamW at 1e-2 is already in the sweep.' },
    });
    // A one-value axis names no value in its ids; its runs are still found by their value.
    const oneValue = started(gridRuns(['riemannian-sgd'], [1e-2], { damping: [1e-4] }));
    expect(oneValue.order).toEqual(['riemannian-sgd@0.01']);
    expect(
      addedRun(oneValue, 'damping', { optimizer: 'riemannian-sgd', lr: 1e-2, second: 1e-4 }),
    ).toMatchObject({ error: { field: null } });
    expect(
      run(addedRun(oneValue, 'damping', { optimizer: 'riemannian-sgd', lr: 1e-2, second: 1e-2 })).id,
    ).toBe('riemannian-sgd@0.01,damping=0.01');
  });
});

describe('an added run in the sweep state', () => {
  const added = run(addedRun(sweep, 'damping', { optimizer: 'riemannian-adamw', lr: 3e-3, second: 1e-3 }));
  const infos: RunInfo[] = [...grid, added].map((spec, i) => ({
    spec,
    startStep: i < grid.length ? 0 : 2,
    stoppedAtStep: null,
  }));
  const ids = infos.map((r) => r.spec.id);
  const s = sweepReducer(sweep, {
    type: 'engine',
    nowMs: 2,
    messages: [
      { type: 'runsChanged', sweepId: 'g', runs: infos },
      {
        type: 'metrics',
        sweepId: 'g',
        runIds: ids,
        steps: [3],
        losses: [[3, 3, 3, 3, 3, 3, 2.9]],
        seconds: [0.3],
        stepsPerSec: 10,
        tokensPerSec: 100,
        choleskyFallbacks: [0, 0, 0, 0, 0, 0, 0],
        divergedAtStep: [null, null, null, null, null, null, null],
      },
      { type: 'validation', sweepId: 'g', runIds: ids, step: 3, losses: [2, 2, 2, 2, 2, 2, 1.5] },
    ],
  });

  it('the Runs table shows its value', () => {
    const row = runRows(s, 'damping').find((r) => r.id === added.id)!;
    expect(row).toMatchObject({ optimizer: 'riemannian-adamw', lr: 3e-3, second: 1e-3 });
  });

  it('the heatmap places it in its cell: a new column and row for the new values', () => {
    const [map] = heatmaps(s, 'best', 'damping').maps;
    expect(map.optimizer).toBe('riemannian-adamw');
    expect(map.xValues).toEqual([1e-3, 1e-2, 3e-3]);
    expect(map.yValues).toEqual([1e-4, 1e-2, 1e-3]);
    expect(map.cells).toContainEqual({ x: 3e-3, y: 1e-3, value: 1.5, diverged: false });
    expect(map.cells).toHaveLength(5);
  });

  it('its loss line is labelled with its value', () => {
    const riem = lossPanels(s, DEFAULT_CHART, new Set(), [], 4, 'damping').panels[1];
    expect(riem.lines.find((l) => l.id === added.id)?.label).toBe('lr 3e-3 · δ 1e-3');
  });
});
