// A sweep preset (src/train/presets.ts) as page settings: the preset's own learning rates per optimizer
// and its dampings as the second axis (δ acts on the Riemannian optimizers only, as in the preset).
import type { SweepPreset } from '../../train/presets';
import { DEFAULT_SETTINGS, logSpace, type Settings } from './settings';

export function presetSettings(p: SweepPreset, current: Settings): Settings {
  const all = p.optimizers.flatMap((o) => p.lrs[o]);
  const lrMin = Math.min(...all);
  const lrMax = Math.max(...all);
  return {
    ...current,
    model: p.model,
    dataset: { kind: 'builtin', name: p.dataset },
    skipBadLines: false,
    valFraction: DEFAULT_SETTINGS.valFraction,
    lrMin,
    lrMax,
    lrCount: DEFAULT_SETTINGS.lrCount,
    lrs: logSpace(lrMin, lrMax, DEFAULT_SETTINGS.lrCount),
    optimizers: [...p.optimizers],
    lrsByOptimizer: Object.fromEntries(p.optimizers.map((o) => [o, [...p.lrs[o]]])),
    secondAxis: 'damping',
    secondValues: [...p.dampings],
    r: p.r,
    alpha: p.alpha,
    targets: [...p.targets],
    steps: p.steps,
    batch: p.batch,
    seq: p.seq,
    warmup: p.warmup,
    decay: p.decay,
    weightDecay: p.weightDecay,
    seed: p.seed,
    valEvery: p.valEvery,
  };
}
