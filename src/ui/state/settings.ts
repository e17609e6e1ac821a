// The page's configuration: one serialisable object, mirrored in the URL's query string
// (a shared link restores it exactly), validated field by field before a sweep may start.
import { DEFAULT_SWEEP, gridRuns, type RunSpec, type SweepConfig } from '../../train/config';
import {
  BUILTIN_DATASETS,
  BUILTIN_MODELS,
  isOpenedModel,
  modelName,
  type BuiltinDataset,
  type BuiltinModel,
  type ModelId,
} from '../../train/messages';
import type { TrainingKnobs } from '../../train/presets';
import type { Decay } from '../../train/schedule';
import { LORA_TARGETS } from '../../model/lora-layout';
import { DEFAULT_HYPER, OPTIMIZERS, type OptimizerKind } from '../../optim/optimizer';
import { axisApplies, axisValueError, SECOND_AXES, type SecondAxis } from './second-axis';

export type XAxis = 'step' | 'time';
export type YScaleSetting = 'linear' | 'log';
export type RobustMetric = 'final' | 'best';

export interface ChartOptions {
  /** EMA weight in [0, 0.99]. */
  smoothing: number;
  yScale: YScaleSetting;
  xAxis: XAxis;
  /** y range from robustYDomain (ignores outliers) instead of the full range. */
  ignoreOutliers: boolean;
  showValidation: boolean;
  metric: RobustMetric;
}

export interface Settings extends TrainingKnobs {
  /**
   * A built-in model, or the model opened from its files in this tab ('opened:<name>'). The files are
   * not stored: a link or History entry naming an opened model falls back to a built-in (use-lab.ts).
   */
  model: ModelId;
  /** A built-in dataset, or the name of a file the user chose (the file itself never enters the URL). */
  dataset: { kind: 'builtin'; name: BuiltinDataset } | { kind: 'file'; name: string };
  skipBadLines: boolean;
  valFraction: number;
  lrMin: number;
  lrMax: number;
  lrCount: number;
  /** The exact learning rates of the sweep (log-spaced from min/max/count unless edited). */
  lrs: number[];
  optimizers: OptimizerKind[];
  /**
   * Learning rates of single optimizers, replacing `lrs` for them (the paper preset: SGD's and AdamW's
   * ranges differ by decades). Empty unless a preset set it; editing the learning rates clears it.
   */
  lrsByOptimizer: Partial<Record<OptimizerKind, number[]>>;
  /** A second hyper-parameter swept against the learning rate, and its values. */
  secondAxis: SecondAxis;
  secondValues: number[];
  damping: number;
  chart: ChartOptions;
}

export const DECAYS: readonly Decay[] = ['constant', 'cosine', 'linear'];

/** n_positions of each built-in model (public/models/<name>/config.json). */
export const MODEL_POSITIONS: Record<BuiltinModel, number> = { 'lab-gpt': 256, 'lab-gpt-tiny': 128 };

export const OPTIMIZER_LABELS: Record<OptimizerKind, string> = {
  adamw: 'AdamW',
  'riemannian-adamw': 'Riemannian AdamW',
  sgd: 'SGD',
  'riemannian-sgd': 'Riemannian SGD',
  'loraplus-adamw': 'LoRA+ AdamW',
};

/** Log-spaced values from min to max inclusive, rounded to 3 significant digits. */
export function logSpace(min: number, max: number, count: number): number[] {
  if (!(min > 0 && max > 0) || !Number.isInteger(count) || count < 1) return [];
  if (count === 1) return [roundSig(min)];
  const a = Math.log10(min);
  const b = Math.log10(max);
  return Array.from({ length: count }, (_, i) => roundSig(10 ** (a + ((b - a) * i) / (count - 1))));
}

export function roundSig(v: number, digits = 3): number {
  return Number(v.toPrecision(digits));
}

export const DEFAULT_CHART: ChartOptions = {
  smoothing: 0.6,
  yScale: 'log',
  xAxis: 'step',
  ignoreOutliers: true,
  showValidation: true,
  metric: 'final',
};

export const DEFAULT_SETTINGS: Settings = {
  model: 'lab-gpt',
  dataset: { kind: 'builtin', name: 'e2e-restaurants.jsonl' },
  skipBadLines: false,
  valFraction: DEFAULT_SWEEP.valFraction,
  lrMin: 1e-4,
  lrMax: 1e-1,
  lrCount: 6,
  lrs: logSpace(1e-4, 1e-1, 6),
  optimizers: ['adamw', 'riemannian-adamw'],
  lrsByOptimizer: {},
  secondAxis: 'none',
  secondValues: [],
  r: DEFAULT_SWEEP.lora.r,
  alpha: DEFAULT_SWEEP.lora.alpha,
  targets: [...DEFAULT_SWEEP.lora.targets],
  steps: DEFAULT_SWEEP.steps,
  batch: DEFAULT_SWEEP.batch,
  seq: DEFAULT_SWEEP.seq,
  warmup: DEFAULT_SWEEP.warmup,
  decay: DEFAULT_SWEEP.decay,
  weightDecay: DEFAULT_HYPER.weightDecay,
  damping: DEFAULT_HYPER.damping,
  seed: DEFAULT_SWEEP.seed,
  valEvery: DEFAULT_SWEEP.valEvery,
  chart: DEFAULT_CHART,
};

export type SettingsAction =
  | { type: 'set'; patch: Partial<Omit<Settings, 'chart'>> }
  | { type: 'lrRange'; lrMin?: number; lrMax?: number; lrCount?: number }
  | { type: 'chart'; patch: Partial<ChartOptions> }
  | { type: 'replace'; settings: Settings };

export function settingsReducer(s: Settings, a: SettingsAction): Settings {
  switch (a.type) {
    case 'set': {
      const next = { ...s, ...a.patch };
      // The user's own learning-rate list replaces a preset's per-optimizer lists.
      if (a.patch.lrs && !a.patch.lrsByOptimizer) next.lrsByOptimizer = {};
      return next;
    }
    case 'lrRange': {
      const next = { ...s, ...stripUndefined(a), lrsByOptimizer: {} };
      const lrs = logSpace(next.lrMin, next.lrMax, next.lrCount);
      return { ...next, lrs: lrs.length > 0 ? lrs : s.lrs };
    }
    case 'chart':
      return { ...s, chart: { ...s.chart, ...a.patch } };
    case 'replace':
      return a.settings;
  }
}

function stripUndefined(a: { lrMin?: number; lrMax?: number; lrCount?: number }) {
  const out: Partial<Pick<Settings, 'lrMin' | 'lrMax' | 'lrCount'>> = {};
  if (a.lrMin !== undefined) out.lrMin = a.lrMin;
  if (a.lrMax !== undefined) out.lrMax = a.lrMax;
  if (a.lrCount !== undefined) out.lrCount = a.lrCount;
  return out;
}

export type SettingsField =
  | 'lrMin'
  | 'lrMax'
  | 'lrCount'
  | 'lrs'
  | 'optimizers'
  | 'secondValues'
  | 'r'
  | 'alpha'
  | 'targets'
  | 'steps'
  | 'batch'
  | 'seq'
  | 'warmup'
  | 'weightDecay'
  | 'damping'
  | 'seed'
  | 'valEvery'
  | 'valFraction';

export type SettingsErrors = Partial<Record<SettingsField, string>>;

const isInt = (v: number) => Number.isInteger(v);

/** n_positions of a settings' model: the built-ins' are known; an opened model's comes from its card. */
export function modelPositions(
  model: ModelId,
  opened?: { id: ModelId; positions: number },
): number | undefined {
  if (!isOpenedModel(model)) return MODEL_POSITIONS[model];
  return opened?.id === model ? opened.positions : undefined;
}

/**
 * Every problem, by field, in words a user can act on. Empty when the sweep may start. `positions` is
 * the model's n_positions (the built-ins' when absent; unknown for an opened model not described yet).
 */
export function validateSettings(
  s: Settings,
  positions: number | undefined = modelPositions(s.model),
): SettingsErrors {
  const e: SettingsErrors = {};
  const intIn = (f: SettingsField, v: number, lo: number, hi: number, what: string) => {
    if (!isInt(v) || v < lo || v > hi) e[f] = `${what} must be a whole number from ${lo} to ${hi}.`;
  };
  if (!(s.lrMin > 0 && Number.isFinite(s.lrMin))) e.lrMin = 'The smallest learning rate must be above 0.';
  if (!(s.lrMax > 0 && Number.isFinite(s.lrMax))) e.lrMax = 'The largest learning rate must be above 0.';
  else if (s.lrMin > s.lrMax) e.lrMax = 'The largest learning rate must not be below the smallest.';
  intIn('lrCount', s.lrCount, 1, 24, 'The number of learning rates');
  if (s.lrs.length === 0) e.lrs = 'List at least one learning rate.';
  else if (s.lrs.some((v) => !(v > 0 && Number.isFinite(v))))
    e.lrs = 'Every learning rate must be a number above 0.';
  else if (new Set(s.lrs).size !== s.lrs.length) e.lrs = 'A learning rate is listed twice.';
  if (s.secondAxis !== 'none') {
    const axis = s.secondAxis;
    if (s.secondValues.length === 0) e.secondValues = 'List at least one value.';
    else if (new Set(s.secondValues).size !== s.secondValues.length)
      e.secondValues = 'A value is listed twice.';
    else {
      const bad = s.secondValues.map((v) => axisValueError(axis, v)).find((m) => m !== null);
      if (bad) e.secondValues = bad;
    }
  }
  const runs = runCount(s);
  if (!e.lrs && !e.secondValues && runs > MAX_RUNS)
    e.lrs = `At most ${MAX_RUNS} runs (learning rates × optimizers${s.secondAxis !== 'none' ? ' × values' : ''}); this is ${runs}.`;
  if (s.optimizers.length === 0) e.optimizers = 'Pick at least one optimizer.';
  intIn('r', s.r, 1, 64, 'Rank');
  if (!(s.alpha > 0 && Number.isFinite(s.alpha))) e.alpha = 'Alpha must be above 0.';
  if (s.targets.length === 0) e.targets = 'Pick at least one module to adapt.';
  intIn('steps', s.steps, 1, 100_000, 'Steps');
  intIn('batch', s.batch, 1, 512, 'Batch');
  const maxSeq = positions ?? 100_000;
  const modelText = positions !== undefined ? ` (${modelName(s.model)} has ${maxSeq} positions)` : '';
  intIn('seq', s.seq, 2, maxSeq, `Sequence length${modelText}`);
  if (!isInt(s.warmup) || s.warmup < 0) e.warmup = 'Warm-up must be a whole number of steps, 0 or more.';
  else if (s.warmup >= s.steps && s.steps > 0) e.warmup = 'Warm-up must be shorter than the sweep.';
  if (!(s.weightDecay >= 0 && Number.isFinite(s.weightDecay)))
    e.weightDecay = 'Weight decay must be 0 or more.';
  if (!(s.damping > 0 && Number.isFinite(s.damping))) e.damping = 'Damping δ must be above 0.';
  intIn('seed', s.seed, 0, 2 ** 31 - 1, 'Seed');
  intIn('valEvery', s.valEvery, 0, 100_000, 'Validation interval');
  if (!(s.valFraction > 0 && s.valFraction < 0.9))
    e.valFraction = 'The validation share must be above 0 and below 0.9.';
  return e;
}

export const MAX_RUNS = 48;

/** The learning rates an optimizer runs at: its own list (from a preset) or the common one. */
export const lrsFor = (s: Settings, o: OptimizerKind): number[] => s.lrsByOptimizer[o] ?? s.lrs;

/** The runs of these settings: each optimizer × its learning rates × the second axis where it applies. */
export function settingsRuns(s: Settings): RunSpec[] {
  return s.optimizers.flatMap((o) =>
    gridRuns(
      [o],
      lrsFor(s, o),
      s.secondAxis !== 'none' && axisApplies(s.secondAxis, o) ? { [s.secondAxis]: s.secondValues } : {},
    ),
  );
}

export function runCount(s: Settings): number {
  return s.optimizers.reduce(
    (n, o) =>
      n +
      lrsFor(s, o).length *
        (s.secondAxis !== 'none' && axisApplies(s.secondAxis, o) ? Math.max(1, s.secondValues.length) : 1),
    0,
  );
}

/** Settings stored by an older page (History, checkpoints) lack later fields: they take the defaults. */
export function withDefaults(s: Partial<Settings>): Settings {
  return { ...DEFAULT_SETTINGS, ...s, chart: { ...DEFAULT_CHART, ...s.chart } };
}

/** The engine's sweep configuration for these settings. */
export function toSweepConfig(s: Settings): SweepConfig {
  return {
    ...DEFAULT_SWEEP,
    lora: { r: s.r, alpha: s.alpha, targets: [...s.targets] },
    steps: s.steps,
    batch: s.batch,
    seq: s.seq,
    warmup: s.warmup,
    decay: s.decay,
    seed: s.seed,
    valFraction: s.valFraction,
    valEvery: s.valEvery,
    hyper: { ...DEFAULT_HYPER, weightDecay: s.weightDecay, damping: s.damping },
    runs: settingsRuns(s),
  };
}

// ---- URL round trip -------------------------------------------------------------------------------

const list = (v: readonly (string | number)[]) => v.join(',');

/** Every setting, so that a link restores the configuration exactly even if defaults change. */
export function toQuery(s: Settings): string {
  const q = new URLSearchParams();
  q.set('model', s.model);
  q.set('data', s.dataset.kind === 'builtin' ? s.dataset.name : `file:${s.dataset.name}`);
  q.set('skip', s.skipBadLines ? '1' : '0');
  q.set('val', String(s.valFraction));
  q.set('lrmin', String(s.lrMin));
  q.set('lrmax', String(s.lrMax));
  q.set('lrn', String(s.lrCount));
  q.set('lrs', list(s.lrs));
  q.set('opt', list(s.optimizers));
  for (const o of OPTIMIZERS) if (s.lrsByOptimizer[o]) q.set(`lrs.${o}`, list(s.lrsByOptimizer[o]));
  q.set('axis', s.secondAxis);
  if (s.secondAxis !== 'none') q.set('axisv', list(s.secondValues));
  q.set('r', String(s.r));
  q.set('alpha', String(s.alpha));
  q.set('targets', list(s.targets));
  q.set('steps', String(s.steps));
  q.set('batch', String(s.batch));
  q.set('seq', String(s.seq));
  q.set('warmup', String(s.warmup));
  q.set('decay', s.decay);
  q.set('wd', String(s.weightDecay));
  q.set('damping', String(s.damping));
  q.set('seed', String(s.seed));
  q.set('valevery', String(s.valEvery));
  q.set('smooth', String(s.chart.smoothing));
  q.set('y', s.chart.yScale);
  q.set('x', s.chart.xAxis);
  q.set('outliers', s.chart.ignoreOutliers ? 'hide' : 'show');
  q.set('valpts', s.chart.showValidation ? '1' : '0');
  q.set('metric', s.chart.metric);
  return q.toString();
}

function num(q: URLSearchParams, key: string, fallback: number): number {
  const raw = q.get(key);
  if (raw === null || raw.trim() === '') return fallback;
  const v = Number(raw);
  return Number.isNaN(v) ? fallback : v;
}

function oneOf<T extends string>(q: URLSearchParams, key: string, allowed: readonly T[], fallback: T): T {
  const raw = q.get(key);
  return raw !== null && (allowed as readonly string[]).includes(raw) ? (raw as T) : fallback;
}

function someOf<T extends string>(
  q: URLSearchParams,
  key: string,
  allowed: readonly T[],
  fallback: T[],
): T[] {
  const raw = q.get(key);
  if (raw === null) return fallback;
  return raw.split(',').filter((v): v is T => (allowed as readonly string[]).includes(v));
}

/** A built-in, or an opened model's id (kept so the page can say to open its files again). */
function modelFromQuery(raw: string | null, fallback: ModelId): ModelId {
  if (raw === null) return fallback;
  if ((BUILTIN_MODELS as readonly string[]).includes(raw)) return raw as BuiltinModel;
  return isOpenedModel(raw) ? raw : fallback;
}

/** Settings from a query string; unknown or missing keys keep their defaults. */
export function fromQuery(search: string, base: Settings = DEFAULT_SETTINGS): Settings {
  const q = new URLSearchParams(search);
  const data = q.get('data');
  let dataset = base.dataset;
  if (data?.startsWith('file:')) dataset = { kind: 'file', name: data.slice(5) };
  else if (data && (BUILTIN_DATASETS as readonly string[]).includes(data))
    dataset = { kind: 'builtin', name: data as BuiltinDataset };
  const lrsRaw = q.get('lrs');
  const lrMin = num(q, 'lrmin', base.lrMin);
  const lrMax = num(q, 'lrmax', base.lrMax);
  const lrCount = num(q, 'lrn', base.lrCount);
  const lrs =
    lrsRaw !== null
      ? lrsRaw
          .split(',')
          .filter((v) => v.trim() !== '')
          .map(Number)
      : q.has('lrmin') || q.has('lrmax') || q.has('lrn')
        ? logSpace(lrMin, lrMax, lrCount)
        : base.lrs;
  const numbers = (raw: string) =>
    raw
      .split(',')
      .filter((v) => v.trim() !== '')
      .map(Number);
  const lrsByOptimizer: Settings['lrsByOptimizer'] = {};
  for (const o of OPTIMIZERS) {
    const raw = q.get(`lrs.${o}`);
    if (raw !== null) lrsByOptimizer[o] = numbers(raw);
  }
  const anyLrKey = [...q.keys()].some((k) => k.startsWith('lrs') || k.startsWith('lrm') || k === 'lrn');
  const secondAxis = oneOf(q, 'axis', SECOND_AXES, base.secondAxis);
  const axisv = q.get('axisv');
  return {
    model: modelFromQuery(q.get('model'), base.model),
    dataset,
    skipBadLines: q.has('skip') ? q.get('skip') === '1' : base.skipBadLines,
    valFraction: num(q, 'val', base.valFraction),
    lrMin,
    lrMax,
    lrCount,
    lrs,
    optimizers: someOf(q, 'opt', OPTIMIZERS, base.optimizers),
    lrsByOptimizer: anyLrKey ? lrsByOptimizer : base.lrsByOptimizer,
    secondAxis,
    secondValues:
      axisv !== null ? numbers(axisv) : q.has('axis') && secondAxis === 'none' ? [] : base.secondValues,
    r: num(q, 'r', base.r),
    alpha: num(q, 'alpha', base.alpha),
    targets: someOf(q, 'targets', LORA_TARGETS, base.targets),
    steps: num(q, 'steps', base.steps),
    batch: num(q, 'batch', base.batch),
    seq: num(q, 'seq', base.seq),
    warmup: num(q, 'warmup', base.warmup),
    decay: oneOf(q, 'decay', DECAYS, base.decay),
    weightDecay: num(q, 'wd', base.weightDecay),
    damping: num(q, 'damping', base.damping),
    seed: num(q, 'seed', base.seed),
    valEvery: num(q, 'valevery', base.valEvery),
    chart: {
      smoothing: num(q, 'smooth', base.chart.smoothing),
      yScale: oneOf(q, 'y', ['linear', 'log'] as const, base.chart.yScale),
      xAxis: oneOf(q, 'x', ['step', 'time'] as const, base.chart.xAxis),
      ignoreOutliers: q.has('outliers') ? q.get('outliers') !== 'show' : base.chart.ignoreOutliers,
      showValidation: q.has('valpts') ? q.get('valpts') === '1' : base.chart.showValidation,
      metric: oneOf(q, 'metric', ['final', 'best'] as const, base.chart.metric),
    },
  };
}
