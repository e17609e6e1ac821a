// `lora-lab train` (one run) and `lora-lab sweep` (a grid of runs, in lockstep): flags are parsed into
// one TrainOptions first (train-options.ts), then the sweep runs, reported by a TrainReporter.
import { dirname, join, basename, extname } from 'node:path';
import { Gpu } from '../gpu/context';
import type { LabGptConfig } from '../model/config';
import { totalmem } from 'node:os';
import { batchShortfall } from '../data/batches';
import type { BaseModel } from '../io/load';
import { batchSource, type BatchSource } from '../train/batch';
import type { SweepConfig } from '../train/config';
import { formatBytes, planSweep, type SweepPlan } from '../train/memory';
import { SweepEngine, type InitialAdapter } from '../train/sweep';
import { SweepDriver } from '../train/driver';
import { collectResults } from '../train/collect';
import { resultsToCsv } from '../train/results';
import { exportAdapter } from '../io/peft';
import { UsageError } from './args';
import { adapterPaths, loadAdapterFile, loadDatasetFile, loadModelFile, writeFileMkdir } from './node-io';
import { checkSeq, parseTrainOptions, type TrainCommandKind, type TrainOptions } from './train-options';
import { TrainReporter, type Writer } from './train-reporter';

export { SWEEP_FLAGS, TRAIN_FLAGS } from './train-options';

/**
 * The --init-adapter's weights. Its rank and targets replace the defaults, and must agree with --rank and
 * --targets when those are given; its lora_alpha (adapter_config.json, else the safetensors metadata)
 * replaces the default unless --alpha is given, and --alpha is what serves when the files do not say.
 */
function initialAdapter(o: TrainOptions, cfg: LabGptConfig): InitialAdapter | undefined {
  if (!o.initAdapter) return undefined;
  const lora = o.config.lora;
  const imported = loadAdapterFile(o.initAdapter, cfg, { alpha: o.given.alpha ? lora.alpha : undefined });
  const lay = imported.layout;
  if (lay.r !== lora.r || [...lay.targets].sort().join() !== [...lora.targets].sort().join()) {
    if (o.given.rank || o.given.targets)
      throw new UsageError(
        `${o.initAdapter}: the adapter has rank ${lay.r} and targets ${lay.targets.join(',')}, which disagree with --rank/--targets`,
      );
  }
  o.config.lora = { r: lay.r, alpha: o.given.alpha ? lora.alpha : lay.alpha, targets: lay.targets };
  return { A: imported.A, B: imported.B };
}

export async function trainCommand(
  kind: TrainCommandKind,
  argv: string[],
  out: Writer = process.stdout,
  err: Writer & { isTTY?: boolean } = process.stderr,
): Promise<number> {
  const o = parseTrainOptions(kind, argv);
  if (o === 'help') return -1;
  const { config } = o;
  const model = loadModelFile(o.modelPath);
  checkSeq(config, model.cfg.n_positions);
  if (o.gridSizeOnly) {
    initialAdapter(o, model.cfg); // its rank and targets size the grid
    return withGpu(async (gpu) => {
      const plan = checkedPlan(gpu, model, config);
      out.write(`${gridSizeLine(plan)}\n`);
      return 0;
    });
  }
  const ds = loadDatasetFile(o.dataPath, { skipBadLines: o.skipBadLines });
  for (const w of ds.warnings) err.write(`warning: ${w}\n`);
  const init = initialAdapter(o, model.cfg);
  let source;
  try {
    source = batchSource(ds, config);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const short = batchShortfall(ds.name, source.trainTokens, config.batch, config.seq);
  if (short) err.write(`warning: ${short}\n`);
  return withGpu(async (gpu) => {
    checkedPlan(gpu, model, config);
    await run(o, gpu, model, ds.name, source, init, out, err);
    return 0;
  });
}

async function withGpu(work: (gpu: Gpu) => Promise<number>): Promise<number> {
  const gpu = await Gpu.create();
  try {
    return await work(gpu);
  } finally {
    gpu.destroy();
  }
}

/** The sweep's memory on this device; a grid over its limits is a usage error (exit 2). */
function checkedPlan(gpu: Gpu, model: BaseModel, config: SweepConfig): SweepPlan {
  // WebGPU does not tell a GPU's memory; a CPU fallback's is the host's.
  const plan = planSweep(gpu, model.cfg, model.weights, config, gpu.info.isSoftware ? totalmem() : undefined);
  if (plan.problems.length > 0)
    throw new UsageError(
      `the grid of ${plan.runs} runs does not fit this device: ${plan.problems.slice(0, 2).join('; ')}` +
        `${plan.problems.length > 2 ? ` (and ${plan.problems.length - 2} more)` : ''}; try fewer runs, or a smaller --batch or --seq`,
    );
  return plan;
}

export function gridSizeLine(p: SweepPlan): string {
  const largest = p.largest ? `; largest buffer ${p.largest.label}, ${formatBytes(p.largest.bytes)}` : '';
  return `${p.runs} runs, ${formatBytes(p.bytes)} of GPU memory (${p.bytes} bytes${largest})`;
}

async function run(
  o: TrainOptions,
  gpu: Gpu,
  model: BaseModel,
  datasetName: string,
  source: BatchSource,
  init: InitialAdapter | undefined,
  out: Writer,
  err: Writer & { isTTY?: boolean },
): Promise<void> {
  const { kind, config } = o;
  const report = new TrainReporter({
    out,
    err,
    tty: err.isTTY === true,
    runIds: config.runs.map((r) => r.id),
    totalSteps: config.steps,
  });
  report.device(gpu.info);
  const engine = new SweepEngine(gpu, model.cfg, model.weights, config, source, init);
  const driver = new SweepDriver(engine, (e) => report.onEvent(e));
  const results = collectResults(
    engine,
    driver,
    { name: model.name, cfg: model.cfg },
    { name: datasetName, trainTokens: source.trainTokens, valTokens: source.valTokens },
  );
  report.start();
  await driver.run();
  const res = results.finish();

  if (o.logPath) writeFileMkdir(o.logPath, report.logText());
  report.summary(res, gpu.info.description || gpu.info.vendor);
  if (kind === 'sweep') {
    writeFileMkdir(o.outPath, JSON.stringify(res, null, 1) + '\n');
    const csvPath = join(dirname(o.outPath), basename(o.outPath, extname(o.outPath)) + '.csv');
    writeFileMkdir(csvPath, resultsToCsv(res));
    report.note(`wrote ${o.outPath} and ${csvPath}`);
  }
  if (o.saveAdapter) {
    const single = engine.R === 1;
    for (let i = 0; i < engine.R; i++) {
      const { A, B } = await engine.adapter(i);
      const { safetensors, config: adapterConfig } = exportAdapter(engine.layout, A, B, model.name);
      const id = engine.runSpecs[i].id;
      const target = single
        ? o.saveAdapter
        : join(o.saveAdapter.replace(/\.safetensors$/i, ''), id.replace(/[^A-Za-z0-9._-]/g, '_'));
      const p = adapterPaths(target);
      writeFileMkdir(p.weights, safetensors);
      writeFileMkdir(p.config, adapterConfig);
      report.note(`saved adapter ${id} to ${p.weights}`);
    }
  }
  engine.destroy();
}
