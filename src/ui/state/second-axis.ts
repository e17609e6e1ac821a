// The sweep's optional second axis: one per-run hyper-parameter (RunSpec's overrides) swept against the
// learning rate. Which optimizers it acts on, how it is named, and which values are valid.
import { isRiemannian, type OptimizerKind, type RunOverrides } from '../../optim/optimizer';
import { shortNumber } from '../../train/config';
import type { RunView } from './sweep';

export type SecondAxis = 'none' | 'damping' | 'weightDecay' | 'beta2' | 'loraplusRatio';
export type SweptAxis = Exclude<SecondAxis, 'none'> & keyof RunOverrides;

export const SECOND_AXES: readonly SecondAxis[] = [
  'none',
  'damping',
  'weightDecay',
  'beta2',
  'loraplusRatio',
];

/** Field and legend names. */
export const AXIS_LABELS: Record<SecondAxis, string> = {
  none: 'none',
  damping: 'Damping δ',
  weightDecay: 'Weight decay',
  beta2: 'β2',
  loraplusRatio: 'LoRA+ ratio',
};

/** Short names for line labels and table headers. */
export const AXIS_SHORT: Record<SweptAxis, string> = {
  damping: 'δ',
  weightDecay: 'wd',
  beta2: 'β2',
  loraplusRatio: 'λ',
};

const ADAM_FAMILY: readonly OptimizerKind[] = ['adamw', 'riemannian-adamw', 'loraplus-adamw'];

/**
 * Whether the axis changes an optimizer's runs: δ only exists in the Riemannian preconditioner and β2
 * only in Adam's second moment, so the other optimizers run once per learning rate instead of repeating
 * identical runs.
 */
export function axisApplies(axis: SecondAxis, optimizer: OptimizerKind): boolean {
  switch (axis) {
    case 'none':
      return false;
    case 'damping':
      return isRiemannian(optimizer);
    case 'beta2':
      return ADAM_FAMILY.includes(optimizer);
    case 'weightDecay':
    case 'loraplusRatio':
      return true;
  }
}

/** Says which optimizers an axis leaves alone, for the hint beside the selector. */
export const AXIS_HINTS: Record<SecondAxis, string> = {
  none: 'One run per optimizer × learning rate.',
  damping: 'δ acts on the Riemannian optimizers only; the others run once per learning rate.',
  weightDecay: 'Every optimizer runs once per value.',
  beta2: 'β2 acts on the AdamW optimizers only; SGD runs once per learning rate.',
  loraplusRatio: 'B’s learning rate = ratio × the run’s, for every optimizer (LoRA+ AdamW’s default is 16).',
};

/** The axis in a sentence. */
const AXIS_NOUNS: Record<SweptAxis, string> = {
  damping: 'damping δ',
  weightDecay: 'weight decay',
  beta2: 'β2',
  loraplusRatio: 'LoRA+ ratio',
};

/**
 * A value error in words, or null when the value is valid for the axis: of one of the sweep's values
 * ('every', the settings' list) or of one run's ('the', "Add run").
 */
export function axisValueError(axis: SweptAxis, v: number, which: 'every' | 'the' = 'every'): string | null {
  const subject = `${which === 'every' ? 'Every' : 'The'} ${AXIS_NOUNS[axis]}`;
  if (!Number.isFinite(v))
    return which === 'every' ? 'Every value must be a number.' : `${subject} must be a number.`;
  switch (axis) {
    case 'damping':
    case 'loraplusRatio':
      return v > 0 ? null : `${subject} must be above 0.`;
    case 'weightDecay':
      return v >= 0 ? null : `${subject} must be 0 or more.`;
    case 'beta2':
      return v >= 0 && v < 1 ? null : `${subject} must be at least 0 and below 1.`;
  }
}

/** Sensible values to start from when an axis is chosen. */
export const AXIS_DEFAULT_VALUES: Record<SweptAxis, number[]> = {
  damping: [1e-6, 1e-2],
  weightDecay: [0, 0.1],
  beta2: [0.99, 0.999],
  loraplusRatio: [1, 16],
};

export const formatAxisValue = (v: number): string => shortNumber(v);

/** Dash patterns for a line's second value, by its rank among the values (solid first). */
const DASHES = ['', '7 4', '2 3', '10 3 2 3', '4 4', '1 2'];
export const axisDash = (rank: number): string | undefined => DASHES[rank % DASHES.length] || undefined;

/** A run's value on the second axis, or null where there is none (or the axis leaves its optimizer alone). */
export function secondValueOf(
  run: Pick<RunView, 'optimizer' | 'overrides'>,
  axis: SecondAxis,
): number | null {
  if (axis === 'none' || !axisApplies(axis, run.optimizer)) return null;
  return run.overrides[axis] ?? null;
}
