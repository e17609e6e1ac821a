import { describe, expect, it } from 'vitest';
import { gridRuns } from '../../train/config';
import { DEFAULT_CHART } from './settings';
import { IDLE_SWEEP, sweepReducer } from './sweep';
import { lossPanels, robustnessLines } from './chart-data';

const runs = gridRuns(['adamw', 'riemannian-adamw'], [1e-3, 1e-1]);
const ids = runs.map((r) => r.id);
let s = sweepReducer(IDLE_SWEEP, { type: 'starting', sweepId: 's', runs, totalSteps: 10, nowMs: 0 });
s = sweepReducer(s, {
  type: 'engine',
  nowMs: 1,
  messages: [
    {
      type: 'metrics',
      sweepId: 's',
      runIds: ids,
      steps: [1, 2],
      losses: [
        [3, 3, 3, 3],
        [2.5, 2, 2.4, NaN],
      ],
      seconds: [0.1, 0.2],
      stepsPerSec: 10,
      tokensPerSec: 100,
      choleskyFallbacks: [0, 0, 0, 0],
      divergedAtStep: [null, 2, null, null],
    },
    { type: 'validation', sweepId: 's', runIds: ids, step: 2, losses: [2.4, NaN, 2.3, 2.2] },
  ],
});

describe('chart data', () => {
  it('makes one panel per optimizer with shared axes and one colour per learning rate', () => {
    const d = lossPanels(s, DEFAULT_CHART, new Set(), []);
    expect(d.panels.map((p) => p.title)).toEqual(['Loss — AdamW', 'Loss — Riemannian AdamW']);
    expect(d.panels[0].lines.map((l) => l.id)).toEqual([ids[0], ids[1]]);
    expect(d.panels[0].lines[0].color).toBe(d.panels[1].lines[0].color);
    expect(d.panels[0].lines[0].color).not.toBe(d.panels[0].lines[1].color);
    expect(d.panels[0].lines[1].divergedAt).toEqual({ x: 2, y: 2 });
    expect(d.xDomain).toEqual([1, 10]);
    expect(d.yDomain[0]).toBeLessThan(2);
  });

  it('reuses unchanged lines and hides hidden runs', () => {
    const a = lossPanels(s, DEFAULT_CHART, new Set(), []);
    const b = lossPanels(s, DEFAULT_CHART, new Set([ids[1]]), []);
    expect(b.panels[0].lines).toHaveLength(1);
    expect(b.panels[0].lines[0]).toBe(a.panels[0].lines[0]);
  });

  it('plots the best validation loss per learning rate and marks diverged runs', () => {
    const lines = robustnessLines(s, 'best');
    expect(lines[0].points).toEqual([
      { lr: 1e-3, loss: 2.4, diverged: false },
      { lr: 1e-1, loss: null, diverged: true },
    ]);
  });
});

describe('chart data, incrementally', () => {
  it('extends a growing run line with the new points only', () => {
    const before = lossPanels(s, DEFAULT_CHART, new Set(), []).panels[0].lines[0];
    const next = sweepReducer(s, {
      type: 'engine',
      nowMs: 2,
      messages: [
        {
          type: 'metrics',
          sweepId: 's',
          runIds: ids,
          steps: [3],
          losses: [[2.2, NaN, 2.3, NaN]],
          seconds: [0.3],
          stepsPerSec: 10,
          tokensPerSec: 100,
          choleskyFallbacks: [0, 0, 0, 0],
          divergedAtStep: [null, 2, null, null],
        },
      ],
    });
    const after = lossPanels(next, DEFAULT_CHART, new Set(), []).panels[0].lines[0];
    expect(after).not.toBe(before);
    expect(after.points.map((p) => p.y)).toEqual([3, 2.5, 2.2]);
    expect(after.points[0]).toBe(before.points[0]);
    const time = lossPanels(next, { ...DEFAULT_CHART, xAxis: 'time' }, new Set(), []).panels[0].lines[0];
    expect(time.points.map((p) => p.x)).toEqual([0.1, 0.2, 0.3]);
  });
});

describe('chart data across sweeps', () => {
  it('never reuses the lines of another sweep with the same run ids', () => {
    lossPanels(s, DEFAULT_CHART, new Set(), []);
    let other = sweepReducer(IDLE_SWEEP, { type: 'starting', sweepId: 't', runs, totalSteps: 10, nowMs: 0 });
    other = sweepReducer(other, {
      type: 'engine',
      nowMs: 1,
      messages: [
        {
          type: 'metrics',
          sweepId: 't',
          runIds: ids,
          steps: [1, 2],
          losses: [
            [9, 9, 9, 9],
            [8, 8, 8, 8],
          ],
          seconds: [0.1, 0.2],
          stepsPerSec: 10,
          tokensPerSec: 100,
          choleskyFallbacks: [0, 0, 0, 0],
          divergedAtStep: [null, null, null, null],
        },
      ],
    });
    expect(lossPanels(other, DEFAULT_CHART, new Set(), []).panels[0].lines[0].points.map((p) => p.y)).toEqual(
      [9, 8],
    );
  });
});
