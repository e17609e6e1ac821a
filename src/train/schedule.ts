// Learning-rate schedule shared by every run of a sweep: linear warm-up, then constant, cosine or linear decay.

export type Decay = 'constant' | 'cosine' | 'linear';

export interface Schedule {
  steps: number;
  warmup: number;
  decay: Decay;
}

/** Multiplier of the base learning rate at step t = 1..steps. */
export function lrFactor(s: Schedule, t: number): number {
  if (s.warmup > 0 && t <= s.warmup) return t / s.warmup;
  if (s.decay === 'constant') return 1;
  const span = Math.max(1, s.steps - s.warmup);
  const progress = Math.min(1, Math.max(0, (t - s.warmup) / span));
  return s.decay === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
}
