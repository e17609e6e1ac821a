// The second axis in the chart data: dashed loss lines, one robustness line per value, heatmaps.
import { describe, expect, it } from 'vitest';
import { gridRuns } from '../../train/config';
import { heatmaps, lossPanels, robustnessLines } from './chart-data';
import { DEFAULT_CHART } from './settings';
import { IDLE_SWEEP, parseRunId, runRows, sweepReducer } from './sweep';

const runs = [
  ...gridRuns(['adamw'], [1e-3, 1e-2]),
  ...gridRuns(['riemannian-adamw'], [1e-3, 1e-2], { damping: [1e-4, 1e-2] }),
];
const ids = runs.map((r) => r.id);
let s = sweepReducer(IDLE_SWEEP, { type: 'starting', sweepId: 'g', runs, totalSteps: 2, nowMs: 0 });
s = sweepReducer(s, {
  type: 'engine',
  nowMs: 1,
  messages: [
    {
      type: 'metrics',
      sweepId: 'g',
      runIds: ids,
      steps: [1, 2],
      losses: [
        [3, 3, 3, 3, 3, 3],
        [2.5, 2.4, 2.3, 2.2, 2.1, 9],
      ],
      seconds: [0.1, 0.2],
      stepsPerSec: 10,
      tokensPerSec: 100,
      choleskyFallbacks: [0, 0, 0, 0, 0, 0],
      divergedAtStep: [null, null, null, null, null, 2],
    },
    { type: 'validation', sweepId: 'g', runIds: ids, step: 2, losses: [2.4, 2.3, 2.2, 2.1, 2.0, NaN] },
  ],
});

describe('chart data with a second axis', () => {
  it('reads a run id back into its parts', () => {
    expect(parseRunId('riemannian-adamw@0.001,damping=1e-4,loraplus-ratio=16')).toEqual({
      id: 'riemannian-adamw@0.001,damping=1e-4,loraplus-ratio=16',
      optimizer: 'riemannian-adamw',
      lr: 0.001,
      damping: 1e-4,
      loraplusRatio: 16,
    });
  });

  it('groups loss lines by learning rate and dashes them by the second value', () => {
    const d = lossPanels(s, DEFAULT_CHART, new Set(), [], 2, 'damping');
    const [plain, riem] = d.panels;
    expect(plain.lines.map((l) => [l.label, l.dash])).toEqual([
      ['lr 1e-3', undefined],
      ['lr 1e-2', undefined],
    ]);
    expect(riem.lines.map((l) => [l.label, l.dash ?? ''])).toEqual([
      ['lr 1e-3 · δ 1e-4', ''],
      ['lr 1e-3 · δ 0.01', '7 4'],
      ['lr 1e-2 · δ 1e-4', ''],
      ['lr 1e-2 · δ 0.01', '7 4'],
    ]);
    expect(riem.lines[0].color).toBe(riem.lines[1].color);
  });

  it('draws one robustness line per optimizer and second value', () => {
    const lines = robustnessLines(s, 'best', 'damping');
    expect(lines.map((l) => l.label)).toEqual([
      'AdamW',
      'Riemannian AdamW δ 1e-4',
      'Riemannian AdamW δ 0.01',
    ]);
    expect(lines[2].points).toEqual([
      { lr: 1e-3, loss: 2.1, diverged: false },
      { lr: 1e-2, loss: null, diverged: true },
    ]);
  });

  it('makes a heatmap per optimizer the axis acts on, with a shared colour domain', () => {
    const { maps, colorDomain } = heatmaps(s, 'best', 'damping');
    expect(maps.map((m) => m.title)).toEqual(['Heatmap — Riemannian AdamW']);
    expect(maps[0].cells).toHaveLength(4);
    expect(maps[0].cells.find((c) => c.diverged)).toEqual({ x: 1e-2, y: 1e-2, value: null, diverged: true });
    expect(colorDomain).toEqual([2.0, 2.2]);
    expect(runRows(s, 'damping').map((r) => r.second)).toEqual([null, null, 1e-4, 1e-2, 1e-4, 1e-2]);
  });
});
