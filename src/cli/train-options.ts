// The flags of `lora-lab train` and `lora-lab sweep`, parsed once into one typed options object before
// any work starts. Every default lives in TRAIN_DEFAULTS; the help text is printed from the same table.
import { parseTargets } from '../model/lora-layout';
import { LORAPLUS_DEFAULT_RATIO, OPTIMIZERS, type OptimizerKind } from '../optim/optimizer';
import type { LabGptConfig } from '../model/config';
import {
  checkRank,
  DEFAULT_SWEEP,
  gridRuns,
  validateSweep,
  type GridAxes,
  type SweepConfig,
} from '../train/config';
import {
  choice,
  isNonNegInt,
  isPosInt,
  isPositive,
  num,
  numList,
  parseFlags,
  str,
  UsageError,
  type FlagSpec,
  type ParsedFlags,
} from './args';

/** Every default of `train` and `sweep` (the sweep's schedule, LoRA and optimizer defaults included). */
export const TRAIN_DEFAULTS = {
  ...DEFAULT_SWEEP,
  optimizer: 'riemannian-adamw' as OptimizerKind,
  lr: 1e-3,
  optimizers: ['adamw', 'riemannian-adamw'] as OptimizerKind[],
  lrs: [1e-4, 1e-3, 1e-2],
  out: 'results.json',
  checkpointEvery: 50,
};

export type TrainCommandKind = 'train' | 'sweep';

export interface TrainOptions {
  kind: TrainCommandKind;
  /** Undefined: the built-in lab-gpt. */
  modelPath: string | undefined;
  dataPath: string | undefined;
  /** --skip-bad-lines: leave bad dataset lines out (counted, reported) instead of stopping. */
  skipBadLines: boolean;
  initAdapter: string | undefined;
  saveAdapter: string | undefined;
  logPath: string | undefined;
  /** Sweep only: results JSON (the CSV goes beside it). */
  outPath: string;
  /** Validated, except `seq` against the model's n_positions (the model is not loaded yet). */
  config: SweepConfig;
  /** LoRA shape flags given explicitly: an --init-adapter's own rank/targets/alpha yield only to these. */
  given: { rank: boolean; targets: boolean; alpha: boolean };
  /** Sweep only: print the grid's size and memory, then stop. */
  gridSizeOnly: boolean;
  /** --checkpoint: the file the sweep's checkpoint is written to. */
  checkpointPath: string | undefined;
  /** Steps between checkpoints (in memory always; to checkpointPath when given). */
  checkpointEvery: number;
  /** --resume: the checkpoint file to continue from. */
  resumePath: string | undefined;
}

const D = TRAIN_DEFAULTS;
const list = (xs: readonly (string | number)[]) => xs.join(',');
/** Learning rates read best as powers of ten: 1e-3, not 0.001. */
const sci = (x: number) => x.toExponential();

export const COMMON_FLAGS: FlagSpec[] = [
  {
    name: 'model',
    value: '<dir-or-file>',
    help: 'base model: a Hugging Face GPT-2 folder (model.safetensors, config.json, tokenizer.json), or a .safetensors or .onnx file with config.json beside it',
    default: 'the built-in lab-gpt',
  },
  {
    name: 'data',
    value: '<file>',
    help: 'dataset: .txt, .jsonl ({"text"} or {"prompt","completion"}) or .csv',
  },
  {
    name: 'skip-bad-lines',
    help: 'leave out bad dataset lines (counted and reported) instead of stopping at the first',
  },
  { name: 'steps', value: '<n>', help: 'training steps', default: String(D.steps) },
  { name: 'batch', value: '<n>', help: 'sequences per batch', default: String(D.batch) },
  {
    name: 'seq',
    value: '<n>',
    help: "sequence length in tokens (bytes for a byte model); at most the model's n_positions",
    default: String(D.seq),
  },
  { name: 'rank', value: '<r>', help: 'LoRA rank, 1..64', default: String(D.lora.r) },
  { name: 'alpha', value: '<a>', help: 'LoRA alpha (scale = alpha / rank)', default: String(D.lora.alpha) },
  {
    name: 'targets',
    value: '<list>',
    help: 'adapted modules: c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj',
    default: list(D.lora.targets),
  },
  {
    name: 'damping',
    value: '<δ>',
    help: 'Riemannian preconditioner damping',
    default: String(D.hyper.damping),
  },
  {
    name: 'weight-decay',
    value: '<wd>',
    help: 'decoupled weight decay',
    default: String(D.hyper.weightDecay),
  },
  { name: 'betas', value: '<b1,b2>', help: 'Adam betas', default: `${D.hyper.beta1},${D.hyper.beta2}` },
  { name: 'eps', value: '<ε>', help: 'Adam epsilon', default: String(D.hyper.eps) },
  { name: 'warmup', value: '<n>', help: 'linear warm-up steps', default: String(D.warmup) },
  {
    name: 'decay',
    value: '<kind>',
    help: 'learning-rate decay after warm-up: constant, cosine, linear',
    default: D.decay,
  },
  {
    name: 'seed',
    value: '<n>',
    help: 'seed of the adapter init and the shuffled order',
    default: String(D.seed),
  },
  {
    name: 'order',
    value: '<kind>',
    help: 'batch order: sequential (DESIGN.md §5) or shuffled',
    default: D.order,
  },
  {
    name: 'val-fraction',
    value: '<f>',
    help: 'tail fraction of the data held out for validation',
    default: String(D.valFraction),
  },
  {
    name: 'val-every',
    value: '<n>',
    help: 'validation loss every n steps (0: only at the end)',
    default: String(D.valEvery),
  },
  {
    name: 'divergence-factor',
    value: '<x>',
    help: 'a run diverges when its loss exceeds x × its first loss (or is NaN/Inf)',
    default: String(D.divergenceFactor),
  },
  {
    name: 'preconditioner-order',
    value: '<kind>',
    help: "Riemannian AdamW: 'paper' (PB from the updated A) or 'old-iterate'",
    default: D.hyper.preconditionerOrder,
  },
  {
    name: 'init-adapter',
    value: '<file.safetensors>',
    help: 'start from these LoRA weights (PEFT layout) instead of the seeded init; without adapter_config.json beside it, --alpha gives lora_alpha',
  },
  {
    name: 'save-adapter',
    value: '<dir-or-file>',
    help: "write the trained adapter(s) in PEFT layout; the run's status (done, diverged/stopped at step N) goes in the metadata and a README",
  },
  {
    name: 'checkpoint',
    value: '<file>',
    help: 'keep the sweep resumable: write its checkpoint to this file (atomically) every --checkpoint-every steps',
  },
  {
    name: 'checkpoint-every',
    value: '<n>',
    help: 'steps between checkpoints (kept in memory even without --checkpoint, to recover from a lost GPU)',
    default: String(D.checkpointEvery),
  },
  {
    name: 'resume',
    value: '<file>',
    help: 'continue from a --checkpoint file; give the same flags as the run that wrote it',
  },
  {
    name: 'log',
    value: '<file.jsonl>',
    help: 'one JSON object per step ({"step":1,"loss":...}) plus validation lines',
  },
  { name: 'help', help: 'this text' },
];

export const TRAIN_FLAGS: FlagSpec[] = [
  { name: 'optimizer', value: '<kind>', help: OPTIMIZERS.join(' | '), default: D.optimizer },
  { name: 'lr', value: '<lr>', help: 'learning rate', default: sci(D.lr) },
  ...COMMON_FLAGS,
];

export const SWEEP_FLAGS: FlagSpec[] = [
  {
    name: 'optimizers',
    value: '<list>',
    help: `comma list of ${OPTIMIZERS.join(', ')}`,
    default: list(D.optimizers),
  },
  { name: 'lrs', value: '<list>', help: 'comma list of learning rates', default: list(D.lrs.map(sci)) },
  {
    name: 'dampings',
    value: '<list>',
    help: 'comma list of Riemannian dampings δ: the grid takes each (instead of --damping)',
  },
  {
    name: 'weight-decays',
    value: '<list>',
    help: 'comma list of weight decays: the grid takes each (instead of --weight-decay)',
  },
  {
    name: 'beta2s',
    value: '<list>',
    help: 'comma list of Adam β2: the grid takes each (instead of --betas)',
  },
  {
    name: 'loraplus-ratios',
    value: '<list>',
    help: "comma list of LoRA+ ratios (B's learning rate = ratio × lr): the grid takes each",
    default: `1 (${LORAPLUS_DEFAULT_RATIO} for loraplus-adamw)`,
  },
  {
    name: 'grid-size-only',
    help: "print the number of runs and the GPU memory they need, then stop (exit 2 if over the device's limits)",
  },
  {
    name: 'out',
    value: '<results.json>',
    help: 'results JSON; a CSV is written beside it',
    default: D.out,
  },
  ...COMMON_FLAGS,
];

export const flagsOf = (kind: TrainCommandKind): FlagSpec[] => (kind === 'train' ? TRAIN_FLAGS : SWEEP_FLAGS);

function optimizerList(v: string): OptimizerKind[] {
  const names = v.split(',').map((s) => s.trim());
  for (const n of names)
    if (!OPTIMIZERS.includes(n as OptimizerKind))
      throw new UsageError(`unknown optimizer '${n}' (choose from ${OPTIMIZERS.join(', ')})`);
  return names as OptimizerKind[];
}

function betas(f: ParsedFlags): [number, number] {
  const v = str(f, 'betas');
  if (v === undefined) return [D.hyper.beta1, D.hyper.beta2];
  const parts = v.split(',').map(Number);
  if (parts.length !== 2 || parts.some((b) => !(b >= 0 && b < 1)))
    throw new UsageError(`--betas must be two numbers in [0, 1) like 0.9,0.999 (got '${v}')`);
  return [parts[0], parts[1]];
}

function targets(f: ParsedFlags) {
  const v = str(f, 'targets');
  if (v === undefined) return [...D.lora.targets];
  try {
    return parseTargets(v);
  } catch (e) {
    throw new UsageError(`--targets: ${(e as Error).message}`);
  }
}

/** The runs of the command: one (train) or the grid of its lists (sweep). */
function runs(kind: TrainCommandKind, f: ParsedFlags) {
  if (kind === 'train')
    return gridRuns(
      [choice(f, 'optimizer', OPTIMIZERS, D.optimizer)],
      [num(f, 'lr', D.lr, isPositive, 'a positive number')],
    );
  const optimizers = optimizerList(str(f, 'optimizers') ?? list(D.optimizers));
  return gridRuns(optimizers, numList(f, 'lrs') ?? D.lrs, gridAxes(f));
}

/** The per-run axes of `sweep`; each list flag replaces its single-value flag. */
function gridAxes(f: ParsedFlags): GridAxes {
  for (const [one, many] of [
    ['damping', 'dampings'],
    ['weight-decay', 'weight-decays'],
    ['betas', 'beta2s'],
  ])
    if (f.has(one) && f.has(many)) throw new UsageError(`give --${one} or --${many}, not both`);
  const isBeta = (v: number) => v >= 0 && v < 1;
  return {
    damping: numList(f, 'dampings'),
    weightDecay: numList(f, 'weight-decays', (v) => v >= 0, 'non-negative numbers'),
    beta2: numList(f, 'beta2s', isBeta, 'numbers in [0, 1)'),
    loraplusRatio: numList(f, 'loraplus-ratios'),
  };
}

/** Parse and check every flag; 'help' when --help was given. Bad values throw a UsageError (exit 2). */
export function parseTrainOptions(kind: TrainCommandKind, argv: readonly string[]): TrainOptions | 'help' {
  const f = parseFlags(argv, flagsOf(kind));
  if (f.has('help')) return 'help';
  const [beta1, beta2] = betas(f);
  const config: SweepConfig = {
    lora: {
      r: num(f, 'rank', D.lora.r, (v) => isPosInt(v) && v <= 64, 'an integer in 1..64'),
      alpha: num(f, 'alpha', D.lora.alpha, isPositive, 'positive'),
      targets: targets(f),
    },
    steps: num(f, 'steps', D.steps, isPosInt, 'a positive integer'),
    batch: num(f, 'batch', D.batch, isPosInt, 'a positive integer'),
    seq: num(f, 'seq', D.seq, isPosInt, 'a positive integer'),
    warmup: num(f, 'warmup', D.warmup, isNonNegInt, 'a non-negative integer'),
    decay: choice(f, 'decay', ['constant', 'cosine', 'linear'] as const, D.decay),
    seed: num(f, 'seed', D.seed, isNonNegInt, 'a non-negative integer'),
    order: choice(f, 'order', ['sequential', 'shuffled'] as const, D.order),
    valFraction: num(f, 'val-fraction', D.valFraction, (v) => v >= 0 && v < 1, 'in [0, 1)'),
    valEvery: num(f, 'val-every', D.valEvery, isNonNegInt, 'a non-negative integer'),
    valBatches: D.valBatches,
    divergenceFactor: num(f, 'divergence-factor', D.divergenceFactor, (v) => v > 1, 'greater than 1'),
    hyper: {
      beta1,
      beta2,
      eps: num(f, 'eps', D.hyper.eps, isPositive, 'positive'),
      weightDecay: num(f, 'weight-decay', D.hyper.weightDecay, (v) => v >= 0, 'non-negative'),
      damping: num(f, 'damping', D.hyper.damping, isPositive, 'positive'),
      preconditionerOrder: choice(
        f,
        'preconditioner-order',
        ['paper', 'old-iterate'] as const,
        D.hyper.preconditionerOrder,
      ),
    },
    runs: runs(kind, f),
  };
  try {
    // The model's context length is checked once the model is loaded (checkSeq).
    validateSweep(config, Number.POSITIVE_INFINITY);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return {
    kind,
    modelPath: str(f, 'model'),
    dataPath: str(f, 'data'),
    skipBadLines: f.has('skip-bad-lines'),
    initAdapter: str(f, 'init-adapter'),
    saveAdapter: str(f, 'save-adapter'),
    logPath: str(f, 'log'),
    outPath: str(f, 'out') ?? D.out,
    config,
    given: { rank: f.has('rank'), targets: f.has('targets'), alpha: f.has('alpha') },
    gridSizeOnly: f.has('grid-size-only'),
    checkpointPath: str(f, 'checkpoint'),
    checkpointEvery: num(f, 'checkpoint-every', D.checkpointEvery, isPosInt, 'a positive integer'),
    resumePath: str(f, 'resume'),
  };
}

/** The one check that needs the model: the sequence must fit its learned positions. */
export function checkSeq(config: SweepConfig, nPositions: number): void {
  if (config.seq > nPositions)
    throw new UsageError(`--seq ${config.seq} exceeds the model's n_positions ${nPositions}`);
}

/** The rank against the adapted layers' widths (once the model, and an --init-adapter's rank, are known). */
export function checkRankFits(config: SweepConfig, cfg: LabGptConfig): void {
  try {
    checkRank(config.lora, cfg);
  } catch (e) {
    throw new UsageError(`--rank: ${(e as Error).message}`);
  }
}
