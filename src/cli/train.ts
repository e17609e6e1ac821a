// `lora-lab train` (one run) and `lora-lab sweep` (a grid of optimizers × learning rates, in lockstep).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, basename, extname } from 'node:path';
import { Gpu } from '../gpu/context';
import { parseTargets } from '../model/lora-layout';
import { OPTIMIZERS, type OptimizerKind } from '../optim/optimizer';
import { DEFAULT_SWEEP, gridRuns, validateSweep, type SweepConfig } from '../train/config';
import { batchSource } from '../train/batch';
import { SweepEngine } from '../train/sweep';
import { SweepDriver } from '../train/driver';
import { collectResults } from '../train/collect';
import { resultsToCsv } from '../train/results';
import { exportAdapter, importAdapter } from '../io/peft';
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
} from './args';
import { adapterPaths, loadDatasetFile, loadModelFile, readFileOr2, writeFileMkdir } from './node-io';

const d = DEFAULT_SWEEP;
export const COMMON_FLAGS: FlagSpec[] = [
  {
    name: 'model',
    value: '<file.onnx>',
    help: 'base model (.onnx or .safetensors, config.json beside it)',
    default: 'the built-in lab-gpt',
  },
  {
    name: 'data',
    value: '<file>',
    help: 'dataset: .txt, .jsonl ({"text"} or {"prompt","completion"}) or .csv',
  },
  { name: 'steps', value: '<n>', help: 'training steps', default: String(d.steps) },
  { name: 'batch', value: '<n>', help: 'sequences per batch', default: String(d.batch) },
  { name: 'seq', value: '<n>', help: 'sequence length in bytes', default: String(d.seq) },
  { name: 'rank', value: '<r>', help: 'LoRA rank, 1..64', default: String(d.lora.r) },
  { name: 'alpha', value: '<a>', help: 'LoRA alpha (scale = alpha / rank)', default: String(d.lora.alpha) },
  {
    name: 'targets',
    value: '<list>',
    help: 'adapted modules: c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj',
    default: 'c_attn',
  },
  {
    name: 'damping',
    value: '<δ>',
    help: 'Riemannian preconditioner damping',
    default: String(d.hyper.damping),
  },
  {
    name: 'weight-decay',
    value: '<wd>',
    help: 'decoupled weight decay',
    default: String(d.hyper.weightDecay),
  },
  { name: 'betas', value: '<b1,b2>', help: 'Adam betas', default: `${d.hyper.beta1},${d.hyper.beta2}` },
  { name: 'eps', value: '<ε>', help: 'Adam epsilon', default: String(d.hyper.eps) },
  { name: 'warmup', value: '<n>', help: 'linear warm-up steps', default: String(d.warmup) },
  {
    name: 'decay',
    value: '<kind>',
    help: 'learning-rate decay after warm-up: constant, cosine, linear',
    default: d.decay,
  },
  {
    name: 'seed',
    value: '<n>',
    help: 'seed of the adapter init and the shuffled order',
    default: String(d.seed),
  },
  {
    name: 'order',
    value: '<kind>',
    help: 'batch order: sequential (DESIGN.md §5) or shuffled',
    default: d.order,
  },
  {
    name: 'val-fraction',
    value: '<f>',
    help: 'tail fraction of the data held out for validation',
    default: String(d.valFraction),
  },
  {
    name: 'val-every',
    value: '<n>',
    help: 'validation loss every n steps (0: only at the end)',
    default: String(d.valEvery),
  },
  {
    name: 'divergence-factor',
    value: '<x>',
    help: 'a run diverges when its loss exceeds x × its first loss (or is NaN/Inf)',
    default: String(d.divergenceFactor),
  },
  {
    name: 'preconditioner-order',
    value: '<kind>',
    help: "Riemannian AdamW: 'paper' (PB from the updated A) or 'old-iterate'",
    default: 'paper',
  },
  {
    name: 'init-adapter',
    value: '<file.safetensors>',
    help: 'start from these LoRA weights (PEFT layout) instead of the seeded init',
  },
  { name: 'save-adapter', value: '<dir-or-file>', help: 'write the trained adapter(s) in PEFT layout' },
  {
    name: 'log',
    value: '<file.jsonl>',
    help: 'one JSON object per step ({"step":1,"loss":...}) plus validation lines',
  },
  { name: 'help', help: 'this text' },
];

export const TRAIN_FLAGS: FlagSpec[] = [
  { name: 'optimizer', value: '<kind>', help: OPTIMIZERS.join(' | '), default: 'riemannian-adamw' },
  { name: 'lr', value: '<lr>', help: 'learning rate', default: '1e-3' },
  ...COMMON_FLAGS,
];

export const SWEEP_FLAGS: FlagSpec[] = [
  {
    name: 'optimizers',
    value: '<list>',
    help: `comma list of ${OPTIMIZERS.join(', ')}`,
    default: 'adamw,riemannian-adamw',
  },
  { name: 'lrs', value: '<list>', help: 'comma list of learning rates', default: '1e-4,1e-3,1e-2' },
  {
    name: 'out',
    value: '<results.json>',
    help: 'results JSON; a CSV is written beside it',
    default: 'results.json',
  },
  ...COMMON_FLAGS,
];

function sweepConfig(
  f: Map<string, string | true>,
  optimizers: OptimizerKind[],
  lrs: number[],
  maxPositions: number,
): SweepConfig {
  const betas = str(f, 'betas');
  let beta1 = d.hyper.beta1;
  let beta2 = d.hyper.beta2;
  if (betas !== undefined) {
    const parts = betas.split(',').map(Number);
    if (parts.length !== 2 || parts.some((b) => !(b >= 0 && b < 1)))
      throw new UsageError(`--betas must be two numbers in [0, 1) like 0.9,0.999 (got '${betas}')`);
    [beta1, beta2] = parts;
  }
  let targets;
  try {
    targets = parseTargets(str(f, 'targets', 'c_attn')!);
  } catch (e) {
    throw new UsageError(`--targets: ${(e as Error).message}`);
  }
  const c: SweepConfig = {
    lora: {
      r: num(f, 'rank', d.lora.r, (v) => isPosInt(v) && v <= 64, 'an integer in 1..64'),
      alpha: num(f, 'alpha', d.lora.alpha, isPositive, 'positive'),
      targets,
    },
    steps: num(f, 'steps', d.steps, isPosInt, 'a positive integer'),
    batch: num(f, 'batch', d.batch, isPosInt, 'a positive integer'),
    seq: num(f, 'seq', d.seq, isPosInt, 'a positive integer'),
    warmup: num(f, 'warmup', d.warmup, isNonNegInt, 'a non-negative integer'),
    decay: choice(f, 'decay', ['constant', 'cosine', 'linear'] as const, d.decay),
    seed: num(f, 'seed', d.seed, isNonNegInt, 'a non-negative integer'),
    order: choice(f, 'order', ['sequential', 'shuffled'] as const, d.order),
    valFraction: num(f, 'val-fraction', d.valFraction, (v) => v >= 0 && v < 1, 'in [0, 1)'),
    valEvery: num(f, 'val-every', d.valEvery, isNonNegInt, 'a non-negative integer'),
    valBatches: d.valBatches,
    divergenceFactor: num(f, 'divergence-factor', d.divergenceFactor, (v) => v > 1, 'greater than 1'),
    hyper: {
      beta1,
      beta2,
      eps: num(f, 'eps', d.hyper.eps, isPositive, 'positive'),
      weightDecay: num(f, 'weight-decay', d.hyper.weightDecay, (v) => v >= 0, 'non-negative'),
      damping: num(f, 'damping', d.hyper.damping, isPositive, 'positive'),
      preconditionerOrder: choice(f, 'preconditioner-order', ['paper', 'old-iterate'] as const, 'paper'),
    },
    runs: gridRuns(optimizers, lrs),
  };
  if (c.seq > maxPositions)
    throw new UsageError(`--seq ${c.seq} exceeds the model's n_positions ${maxPositions}`);
  try {
    validateSweep(c, maxPositions);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return c;
}

function optimizerList(v: string): OptimizerKind[] {
  const names = v.split(',').map((s) => s.trim());
  for (const n of names)
    if (!OPTIMIZERS.includes(n as OptimizerKind))
      throw new UsageError(`unknown optimizer '${n}' (choose from ${OPTIMIZERS.join(', ')})`);
  return names as OptimizerKind[];
}

function progressLine(
  step: number,
  total: number,
  losses: number[],
  ids: string[],
  tokensPerSec: number,
): string {
  const width = 24;
  const filled = Math.round((step / total) * width);
  const best = losses
    .map((l, i) => [l, ids[i]] as const)
    .filter(([l]) => Number.isFinite(l))
    .sort((a, b) => a[0] - b[0])[0];
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${step}/${total}  ${tokensPerSec.toFixed(0)} tok/s${best ? `  best ${best[1]} ${best[0].toFixed(4)}` : ''}   `;
}

export async function trainCommand(
  kind: 'train' | 'sweep',
  argv: string[],
  out: NodeJS.WriteStream = process.stdout,
): Promise<number> {
  const specs = kind === 'train' ? TRAIN_FLAGS : SWEEP_FLAGS;
  const f = parseFlags(argv, specs);
  if (f.has('help')) return -1;
  const optimizers =
    kind === 'train'
      ? [choice(f, 'optimizer', OPTIMIZERS, 'riemannian-adamw')]
      : optimizerList(str(f, 'optimizers', 'adamw,riemannian-adamw')!);
  const lrs =
    kind === 'train'
      ? [num(f, 'lr', 1e-3, isPositive, 'a positive number')]
      : (numList(f, 'lrs') ?? [1e-4, 1e-3, 1e-2]);
  const config = sweepConfig(f, optimizers, lrs, Number.MAX_SAFE_INTEGER);
  const model = loadModelFile(str(f, 'model'));
  if (config.seq > model.cfg.n_positions)
    throw new UsageError(`--seq ${config.seq} exceeds the model's n_positions ${model.cfg.n_positions}`);
  const ds = loadDatasetFile(str(f, 'data'));
  let init;
  const initPath = str(f, 'init-adapter');
  if (initPath) {
    const bytes = readFileOr2(initPath, 'adapter');
    const cfgPath = join(dirname(initPath), 'adapter_config.json');
    const adapterConfig = existsSync(cfgPath) ? readFileSync(cfgPath, 'utf8') : undefined;
    const imported = importAdapter(new Uint8Array(bytes), adapterConfig, model.cfg);
    const lay = imported.layout;
    if (
      lay.r !== config.lora.r ||
      [...lay.targets].sort().join() !== [...config.lora.targets].sort().join()
    ) {
      if (f.has('rank') || f.has('targets'))
        throw new UsageError(
          `--init-adapter has rank ${lay.r} and targets ${lay.targets.join(',')}, which disagree with --rank/--targets`,
        );
      config.lora = { r: lay.r, alpha: f.has('alpha') ? config.lora.alpha : lay.alpha, targets: lay.targets };
    }
    init = { A: imported.A, B: imported.B };
  }
  let source;
  try {
    source = batchSource(ds, config);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const gpu = await Gpu.create();
  const engine = new SweepEngine(gpu, model.cfg, model.weights, config, source, init);
  const logPath = str(f, 'log');
  const logLines: string[] = [];
  const ids = config.runs.map((r) => r.id);
  const tty = process.stderr.isTTY;
  const single = config.runs.length === 1;
  const driver = new SweepDriver(engine, (e) => {
    if (e.type === 'report') {
      e.report.steps.forEach((step, i) => {
        e.report.losses[i].forEach((loss, r) =>
          logLines.push(JSON.stringify(single ? { step, loss } : { step, run: ids[r], loss })),
        );
      });
      const last = e.report.losses[e.report.losses.length - 1] ?? [];
      if (tty)
        process.stderr.write(progressLine(engine.step, config.steps, last, ids, e.report.tokensPerSec));
    } else if (e.type === 'validation') {
      e.losses.forEach((loss, r) =>
        logLines.push(
          JSON.stringify(
            single ? { step: e.step, val_loss: loss } : { step: e.step, run: ids[r], val_loss: loss },
          ),
        ),
      );
      if (!tty)
        out.write(
          `step ${e.step}: validation ${e.losses.map((l, r) => `${ids[r]}=${l.toFixed(4)}`).join(' ')}\n`,
        );
    } else if (e.type === 'diverged') {
      if (tty) process.stderr.write('\n');
      out.write(`run ${e.runId} diverged at step ${e.step}\n`);
    }
  });
  const results = collectResults(
    engine,
    driver,
    { name: model.name, cfg: model.cfg },
    { name: ds.name, trainTokens: source.trainTokens, valTokens: source.valTokens },
  );
  await driver.run();
  if (tty) process.stderr.write('\n');
  const res = results.finish();
  if (logPath) writeFileMkdir(logPath, logLines.join('\n') + '\n');
  for (const run of res.runs) {
    const last = [...run.losses].reverse().find((l) => l !== null && Number.isFinite(l));
    const val = run.validation[run.validation.length - 1];
    out.write(
      `${run.id}: final loss ${last?.toFixed(4) ?? 'n/a'}${val ? `, validation ${val.loss.toFixed(4)}` : ''}${run.divergedAtStep ? `, diverged at step ${run.divergedAtStep}` : ''}\n`,
    );
  }
  out.write(
    `${res.steps} steps in ${res.timings.totalSeconds.toFixed(1)} s, ${res.timings.tokensPerSec.toFixed(0)} tokens/s (${gpu.info.description || gpu.info.vendor})\n`,
  );
  if (kind === 'sweep') {
    const outPath = str(f, 'out', 'results.json')!;
    writeFileMkdir(outPath, JSON.stringify(res, null, 1) + '\n');
    const csvPath = join(dirname(outPath), basename(outPath, extname(outPath)) + '.csv');
    writeFileMkdir(csvPath, resultsToCsv(res));
    out.write(`wrote ${outPath} and ${csvPath}\n`);
  }
  const save = str(f, 'save-adapter');
  if (save) {
    for (let i = 0; i < engine.R; i++) {
      const { A, B } = await engine.adapter(i);
      const { safetensors, config: adapterConfig } = exportAdapter(engine.layout, A, B, model.name);
      const target = single
        ? save
        : join(save.replace(/\.safetensors$/i, ''), engine.runSpecs[i].id.replace(/[^A-Za-z0-9._-]/g, '_'));
      const p = adapterPaths(target);
      writeFileMkdir(p.weights, safetensors);
      writeFileMkdir(p.config, adapterConfig);
      out.write(`saved adapter ${engine.runSpecs[i].id} to ${p.weights}\n`);
    }
  }
  engine.destroy();
  gpu.destroy();
  return 0;
}
