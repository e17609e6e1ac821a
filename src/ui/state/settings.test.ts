import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SETTINGS,
  fromQuery,
  logSpace,
  modelPositions,
  settingsReducer,
  toQuery,
  toSweepConfig,
  validateSettings,
  type Settings,
} from './settings';
import { validateSweep } from '../../train/config';

describe('settings', () => {
  it('log-spaces the default learning rates 1e-4 … 1e-1', () => {
    expect(logSpace(1e-4, 1e-1, 4)).toEqual([1e-4, 1e-3, 1e-2, 1e-1]);
    expect(DEFAULT_SETTINGS.lrs).toHaveLength(6);
    expect(DEFAULT_SETTINGS.lrs[0]).toBe(1e-4);
    expect(DEFAULT_SETTINGS.lrs[5]).toBe(0.1);
  });

  it('round-trips every field through the query string', () => {
    const s: Settings = {
      ...DEFAULT_SETTINGS,
      model: 'lab-gpt-tiny',
      dataset: { kind: 'builtin', name: 'devils-dictionary.txt' },
      skipBadLines: true,
      lrs: [0.001, 0.05, 3],
      optimizers: ['sgd', 'riemannian-sgd'],
      lrsByOptimizer: { sgd: [0.1, 1] },
      secondAxis: 'damping',
      secondValues: [1e-6, 1e-2],
      r: 8,
      alpha: 16,
      targets: ['c_attn', 'mlp.c_fc'],
      steps: 6,
      batch: 2,
      seq: 32,
      warmup: 2,
      decay: 'cosine',
      weightDecay: 0,
      damping: 1e-4,
      seed: 7,
      valEvery: 3,
      chart: {
        smoothing: 0.2,
        yScale: 'linear',
        xAxis: 'time',
        ignoreOutliers: false,
        showValidation: false,
        metric: 'best',
      },
    };
    expect(fromQuery(toQuery(s))).toEqual(s);
    expect(fromQuery(toQuery(DEFAULT_SETTINGS))).toEqual(DEFAULT_SETTINGS);
  });

  it('keeps a chosen file name but not the file', () => {
    const s: Settings = { ...DEFAULT_SETTINGS, dataset: { kind: 'file', name: 'my data.jsonl' } };
    expect(fromQuery(toQuery(s)).dataset).toEqual({ kind: 'file', name: 'my data.jsonl' });
  });

  it('ignores unknown values in a hand-edited link', () => {
    const s = fromQuery('model=gpt-9&opt=adamw,nope&decay=weird&steps=abc');
    expect(s.model).toBe(DEFAULT_SETTINGS.model);
    expect(s.optimizers).toEqual(['adamw']);
    expect(s.decay).toBe(DEFAULT_SETTINGS.decay);
    expect(s.steps).toBe(DEFAULT_SETTINGS.steps);
  });

  it('regenerates the list when the range changes', () => {
    const s = settingsReducer(DEFAULT_SETTINGS, { type: 'lrRange', lrMin: 1e-3, lrCount: 3 });
    expect(s.lrs).toEqual([1e-3, 0.01, 0.1]);
  });

  it('refuses bad fields with a message per field', () => {
    const e = validateSettings({
      ...DEFAULT_SETTINGS,
      steps: 0,
      seq: 999,
      lrs: [],
      optimizers: [],
      damping: 0,
      warmup: -1,
    });
    expect(Object.keys(e).sort()).toEqual(['damping', 'lrs', 'optimizers', 'seq', 'steps', 'warmup'].sort());
    expect(e.seq).toMatch(/256 positions/);
    expect(validateSettings(DEFAULT_SETTINGS)).toEqual({});
  });

  it('makes a sweep the engine accepts', () => {
    const c = toSweepConfig(DEFAULT_SETTINGS);
    expect(() => validateSweep(c, 256)).not.toThrow();
    expect(c.runs).toHaveLength(12);
  });

  it('sweeps a second axis where it applies, and checks its values beside the field', () => {
    const s: Settings = {
      ...DEFAULT_SETTINGS,
      lrs: [1e-3, 1e-2],
      optimizers: ['adamw', 'riemannian-adamw'],
      secondAxis: 'damping',
      secondValues: [1e-4, 1e-2],
    };
    const c = toSweepConfig(s);
    expect(() => validateSweep(c, 256)).not.toThrow();
    expect(c.runs.map((r) => r.id)).toEqual([
      'adamw@0.001',
      'adamw@0.01',
      'riemannian-adamw@0.001,damping=1e-4',
      'riemannian-adamw@0.001,damping=0.01',
      'riemannian-adamw@0.01,damping=1e-4',
      'riemannian-adamw@0.01,damping=0.01',
    ]);
    const wd = toSweepConfig({ ...s, secondAxis: 'weightDecay', secondValues: [0, 0.1] });
    expect(wd.runs).toHaveLength(8);
    expect(validateSettings({ ...s, secondValues: [1e-4, 0] }).secondValues).toMatch(/above 0/);
    expect(validateSettings({ ...s, secondAxis: 'beta2', secondValues: [1] }).secondValues).toMatch(
      /below 1/,
    );
    expect(validateSettings({ ...s, secondValues: [] }).secondValues).toMatch(/at least one/);
    expect(validateSettings({ ...s, secondValues: logSpace(1e-8, 1, 30) }).lrs).toMatch(/At most 48 runs/);
    expect(fromQuery(toQuery(s))).toEqual(s);
  });
});

describe('settings: a model opened from its files', () => {
  it('keeps its id through the URL (the page then asks for the files again)', () => {
    const s = { ...DEFAULT_SETTINGS, model: 'opened:openai-community/gpt2' as const, steps: 7 };
    const back = fromQuery(`?${toQuery(s)}`);
    expect(back.model).toBe('opened:openai-community/gpt2');
    expect(back.steps).toBe(7);
    expect(fromQuery('?model=opened%3A').model).toBe(DEFAULT_SETTINGS.model);
    expect(fromQuery('?model=gpt2').model).toBe(DEFAULT_SETTINGS.model);
  });

  it("checks the sequence length against the opened model's positions", () => {
    const s = { ...DEFAULT_SETTINGS, model: 'opened:gpt2' as const, seq: 512 };
    expect(modelPositions(s.model)).toBeUndefined();
    expect(validateSettings(s, undefined).seq).toBeUndefined();
    const positions = modelPositions(s.model, { id: 'opened:gpt2', positions: 256 });
    expect(validateSettings(s, positions).seq).toMatch(/gpt2 has 256 positions/);
  });
});
