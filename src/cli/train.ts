// `lora-lab train` (one run) and `lora-lab sweep` (a grid of runs, in lockstep): flags are parsed into
// one TrainOptions first (train-options.ts), then the sweep runs, reported by a TrainReporter. The sweep
// keeps a checkpoint every --checkpoint-every steps (in memory, and in the --checkpoint file): a lost GPU
// device is replaced by a new one and training goes on from it; --resume continues from the file.
import { readFileSync, renameSync } from 'node:fs';
import { dirname, join, basename, extname } from 'node:path';
import { Gpu } from '../gpu/context';
import { adapterReadme, countNonFinite, labelAdapter, runStatus } from '../io/adapter-card';
import type { LabGptConfig } from '../model/config';
import { totalmem } from 'node:os';
import { batchShortfall } from '../data/batches';
import { tokenUnit } from '../data/dataset';
import type { BaseModel } from '../io/load';
import { batchSource, type BatchSource } from '../train/batch';
import type { SweepConfig } from '../train/config';
import type { TokenizedDataset } from '../data/dataset';
import {
  labelCheckpoint,
  modelMismatch,
  readCheckpointLabel,
  type CheckpointLabel,
} from '../train/page-checkpoint';
import { modelFingerprint } from '../model/fingerprint';
import { formatBytes, type SweepPlan } from '../train/memory';
import {
  buildEngine as buildInScope,
  fitPlan,
  isOutOfMemory,
  outOfMemory as outOfMemoryError,
  SweepFitError,
  type SettingNames,
} from '../train/fit';
import { SweepEngine, type InitialAdapter } from '../train/sweep';
import { SweepDriver } from '../train/driver';
import { collectResults } from '../train/collect';
import { joinResults, resultsToCsv, type SweepResults } from '../train/results';
import { exportAdapter } from '../io/peft';
import { UsageError } from './args';
import {
  adapterPaths,
  loadAdapterFile,
  loadDatasetFile,
  loadModelFile,
  modelLine,
  writeFileMkdir,
} from './node-io';
import {
  checkRankFits,
  checkSeq,
  parseTrainOptions,
  type TrainCommandKind,
  type TrainOptions,
} from './train-options';
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

/** What the command needs from outside: tests give a Gpu that runs out of memory or loses its device. */
export interface TrainDeps {
  createGpu?: () => Promise<Gpu>;
  now?: () => number;
  /** Stops the sweep at the next step boundary, as Ctrl-C (SIGINT) does. */
  signal?: AbortSignal;
}

export async function trainCommand(
  kind: TrainCommandKind,
  argv: string[],
  out: Writer = process.stdout,
  err: Writer & { isTTY?: boolean } = process.stderr,
  deps: TrainDeps = {},
): Promise<number> {
  const o = parseTrainOptions(kind, argv);
  if (o === 'help') return -1;
  const { config } = o;
  const createGpu = deps.createGpu ?? (() => Gpu.create());
  const model = loadModelFile(o.modelPath);
  checkSeq(config, model.cfg.n_positions);
  if (o.gridSizeOnly) {
    initialAdapter(o, model.cfg); // its rank and targets size the grid
    checkRankFits(config, model.cfg);
    return withGpu(createGpu, async (gpu) => {
      const plan = checkedPlan(gpu, model, config);
      out.write(`${gridSizeLine(plan)}\n`);
      return 0;
    });
  }
  const ds = loadDatasetFile(o.dataPath, { skipBadLines: o.skipBadLines, tokenizer: model.tokenizer });
  for (const w of ds.warnings) err.write(`warning: ${w}\n`);
  const init = initialAdapter(o, model.cfg);
  checkRankFits(config, model.cfg);
  const resume = o.resumePath ? readResume(o.resumePath, config, checkpointLabel(model, ds)) : undefined;
  let source;
  try {
    source = batchSource(ds, config);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const short = batchShortfall(ds.name, source.trainTokens, config.batch, config.seq, tokenUnit(ds));
  if (short) err.write(`warning: ${short}\n`);
  // Ctrl-C: stop at the next step, then write results, adapters ("stopped at step N") and a checkpoint.
  const interrupt = new AbortController();
  deps.signal?.addEventListener('abort', () => interrupt.abort());
  const onSigint = () => interrupt.abort();
  process.once('SIGINT', onSigint);
  // After every check, so that a bad flag or file is still the one line it is.
  err.write(`${modelLine(model)}\n`);
  try {
    await run(o, { createGpu, now: deps.now }, interrupt.signal, model, ds, source, init, resume, out, err);
  } finally {
    process.off('SIGINT', onSigint);
  }
  return 0;
}

async function withGpu(createGpu: () => Promise<Gpu>, work: (gpu: Gpu) => Promise<number>): Promise<number> {
  const gpu = await createGpu();
  try {
    return await work(gpu);
  } finally {
    gpu.destroy();
  }
}

/** The CLI names settings by their flags. */
const FLAG_NAMES: SettingNames = { batch: '--batch', seq: '--seq', rank: '--rank' };

/** The sweep's memory on this device; a grid over its limits is a usage error (exit 2). */
function checkedPlan(gpu: Gpu, model: BaseModel, config: SweepConfig): SweepPlan {
  // WebGPU does not tell a GPU's memory; a CPU fallback's is the host's.
  const memory = gpu.info.isSoftware ? totalmem() : undefined;
  try {
    return fitPlan(gpu, model.cfg, model.weights, config, FLAG_NAMES, memory);
  } catch (e) {
    throw e instanceof SweepFitError ? new UsageError(e.message) : e;
  }
}

export function gridSizeLine(p: SweepPlan): string {
  const largest = p.largest ? `; largest buffer ${p.largest.label}, ${formatBytes(p.largest.bytes)}` : '';
  return `${p.runs} runs, ${formatBytes(p.bytes)} of GPU memory (${p.bytes} bytes${largest})`;
}

function outOfMemory(plan: SweepPlan): UsageError {
  return new UsageError(outOfMemoryError(plan, FLAG_NAMES).message);
}

/** Build the engine inside an out-of-memory error scope: an allocation the device refuses is a clear message. */
async function buildEngine(gpu: Gpu, plan: SweepPlan, build: () => SweepEngine): Promise<SweepEngine> {
  try {
    return await buildInScope(gpu, plan, FLAG_NAMES, build);
  } catch (e) {
    throw e instanceof SweepFitError ? new UsageError(e.message) : e;
  }
}

/** A checkpoint to continue from: its bytes (labelled), and the sweep's clock and results at its step. */
interface Resumable {
  step: number;
  bytes: Uint8Array;
  seconds: number;
  results: SweepResults | undefined;
}

type HereLabel = CheckpointLabel & { fingerprint: string };

function checkpointLabel(model: BaseModel, ds: TokenizedDataset): HereLabel {
  return {
    model: model.name,
    fingerprint: modelFingerprint(model.cfg, model.weights),
    dataset: { name: ds.name, tokens: ds.tokens.length },
  };
}

/** The first field where two configs differ ('lora.r: 4 vs 8'), or undefined. */
function configDifference(a: SweepConfig, b: SweepConfig): string | undefined {
  const show = (v: unknown) => JSON.stringify(v);
  for (const key of Object.keys({ ...a, ...b }) as (keyof SweepConfig)[]) {
    const x = a[key];
    const y = b[key];
    if (key === 'runs') {
      const ids = (rs: SweepConfig['runs']) => rs.map((r) => r.id).join(',');
      if (show(x) !== show(y)) return `runs ${ids(a.runs)} (this command: ${ids(b.runs)})`;
    } else if (typeof x === 'object' && x !== null && typeof y === 'object' && y !== null) {
      for (const k of Object.keys({ ...x, ...y }))
        if (show((x as Record<string, unknown>)[k]) !== show((y as Record<string, unknown>)[k]))
          return `${key}.${k} ${show((x as Record<string, unknown>)[k])} (this command: ${show((y as Record<string, unknown>)[k])})`;
    } else if (show(x) !== show(y)) return `${key} ${show(x)} (this command: ${show(y)})`;
  }
  return undefined;
}

/** The --resume file, checked against this command's model, dataset and settings (a mismatch: exit 2). */
function readResume(path: string, config: SweepConfig, here: HereLabel): Resumable {
  let bytes: Uint8Array;
  let label;
  try {
    bytes = new Uint8Array(readFileSync(path));
    label = readCheckpointLabel(bytes);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`--resume ${path}: ${code === 'ENOENT' ? 'not found' : (e as Error).message}`);
  }
  const bad = (why: string) => new UsageError(`--resume ${path}: ${why}`);
  const otherModel = modelMismatch(label, here);
  if (otherModel) throw bad(otherModel);
  if (label.dataset.name !== here.dataset.name || label.dataset.tokens !== here.dataset.tokens)
    throw bad(
      `the checkpoint trained on '${label.dataset.name}' (${label.dataset.tokens} tokens), not '${here.dataset.name}' (${here.dataset.tokens} tokens)`,
    );
  const diff = configDifference(label.config, config);
  if (diff) throw bad(`the checkpoint was trained with ${diff}; give the flags of the run that wrote it`);
  return { step: label.step, bytes, seconds: label.seconds ?? 0, results: label.results };
}

/** Write to a temporary file beside `path`, then rename: a crash mid-write never leaves half a checkpoint. */
function writeAtomically(path: string, data: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileMkdir(tmp, data);
  renameSync(tmp, path);
}

/** A lost device is replaced this many times in one command; then the command fails. */
const MAX_RECOVERIES = 3;

async function run(
  o: TrainOptions,
  deps: Required<Pick<TrainDeps, 'createGpu'>> & Pick<TrainDeps, 'now'>,
  signal: AbortSignal,
  model: BaseModel,
  ds: TokenizedDataset,
  source: BatchSource,
  init: InitialAdapter | undefined,
  resume: Resumable | undefined,
  out: Writer,
  err: Writer & { isTTY?: boolean },
): Promise<void> {
  const { config } = o;
  const now = deps.now ?? (() => performance.now());
  const report = new TrainReporter({
    out,
    err,
    tty: err.isTTY === true,
    runIds: config.runs.map((r) => r.id),
    totalSteps: config.steps,
    now,
  });
  const label = checkpointLabel(model, ds);
  const every = o.checkpointEvery;
  let gpu = await deps.createGpu();
  let from = resume;
  let lastCheckpoint = resume;
  let recoveries = 0;
  let lostAtStep: number | undefined;
  try {
    const plan = checkedPlan(gpu, model, config);
    report.device(gpu.info);
    for (;;) {
      let engine: SweepEngine | undefined;
      try {
        const start = from;
        const g = gpu;
        report.preparing();
        engine = await buildEngine(g, plan, () =>
          start
            ? SweepEngine.restore(g, model.cfg, model.weights, start.bytes, source)
            : new SweepEngine(g, model.cfg, model.weights, config, source, init),
        );
        if (lostAtStep !== undefined)
          err.write(
            `resumed from step ${start?.step ?? 0}; ${lostAtStep - (start?.step ?? 0)} steps redone\n`,
          );
        else if (start) err.write(`resumed from ${o.resumePath} at step ${start.step}\n`);
        const e = engine;
        const driver = new SweepDriver(e, (ev) => report.onEvent(ev));
        const collector = collectResults(
          e,
          driver,
          { name: model.name, cfg: model.cfg, fingerprint: label.fingerprint },
          { name: ds.name, trainTokens: source.trainTokens, valTokens: source.valTokens },
        );
        const results = () =>
          start ? joinResults({ ...start, fromStep: start.step }, collector.finish()) : collector.finish();
        const t0 = now() - (start?.seconds ?? 0) * 1000;
        let checkpointing = false;
        const takeCheckpoint = () => {
          if (checkpointing || e.step - (lastCheckpoint?.step ?? 0) < every || e.step >= config.steps) return;
          checkpointing = true;
          driver
            .checkpoint()
            .then(({ step, bytes }) => {
              const seconds = (now() - t0) / 1000;
              const res = results();
              const labelled = labelCheckpoint(bytes, { ...label, seconds, results: res });
              lastCheckpoint = { step, bytes: labelled, seconds, results: res };
              if (o.checkpointPath) writeAtomically(o.checkpointPath, labelled);
            })
            .catch((x: unknown) => {
              // A device lost mid-checkpoint fails the loop too; a file that cannot be written does not.
              if (o.checkpointPath) err.write(`warning: checkpoint not written: ${(x as Error).message}\n`);
            })
            .finally(() => (checkpointing = false));
        };
        const reportEvent = driver.onEvent;
        driver.onEvent = (ev) => {
          reportEvent(ev);
          if (ev.type === 'report') takeCheckpoint();
        };
        report.start(start?.step ?? 0);
        await driver.run({ reportEvery: every, now, signal });
        if (e.step < config.steps) {
          let resumable = '';
          if (o.checkpointPath && e.step > (lastCheckpoint?.step ?? 0)) {
            const seconds = (now() - t0) / 1000;
            const res = results();
            writeAtomically(
              o.checkpointPath,
              labelCheckpoint(await e.checkpoint(), { ...label, seconds, results: res }),
            );
          }
          if (o.checkpointPath) resumable = `; continue with --resume ${o.checkpointPath}`;
          err.write(`interrupted: stopped at step ${e.step} of ${config.steps}${resumable}\n`);
        }
        await finish(o, e, results(), report, model.name, gpu);
        return;
      } catch (x) {
        const lost = x instanceof UsageError ? undefined : await gpu.lostAfterError();
        if (lost === undefined) throw isOutOfMemory(x) ? outOfMemory(plan) : x;
        if (recoveries++ >= MAX_RECOVERIES) throw x;
        lostAtStep = engine?.step ?? lostAtStep ?? 0;
        err.write(`the GPU device was lost at step ${lostAtStep} (${lost}); acquiring a new one\n`);
        try {
          gpu.destroy();
        } catch {
          // already gone
        }
        gpu = await deps.createGpu();
        from = lastCheckpoint;
        report.rewind(from?.step ?? 0);
      } finally {
        try {
          engine?.destroy();
        } catch {
          // a lost device's buffers
        }
      }
    }
  } finally {
    gpu.destroy();
  }
}

/** Summary, results (sweep), and the adapters with their run's status (--save-adapter). */
async function finish(
  o: TrainOptions,
  engine: SweepEngine,
  res: SweepResults,
  report: TrainReporter,
  modelName: string,
  gpu: Gpu,
): Promise<void> {
  if (o.logPath) writeFileMkdir(o.logPath, report.logText());
  report.summary(res, gpu.info.description || gpu.info.vendor);
  if (o.kind === 'sweep') {
    writeFileMkdir(o.outPath, JSON.stringify(res, null, 1) + '\n');
    const csvPath = join(dirname(o.outPath), basename(o.outPath, extname(o.outPath)) + '.csv');
    writeFileMkdir(csvPath, resultsToCsv(res));
    report.note(`wrote ${o.outPath} and ${csvPath}`);
  }
  if (!o.saveAdapter) return;
  const single = engine.R === 1;
  for (let i = 0; i < engine.R; i++) {
    const { A, B, divergedAtStep } = await engine.adapter(i); // a diverged run's last good weights
    const { safetensors, config: adapterConfig } = exportAdapter(engine.layout, A, B, modelName);
    const host = engine.hostRuns()[i];
    const id = host.spec.id;
    const status = runStatus(
      host,
      divergedAtStep ?? res.runs[i]?.divergedAtStep ?? null,
      engine.step,
      engine.config.steps,
      true,
    );
    const card = {
      runId: id,
      status,
      baseModel: modelName,
      optimizer: host.spec.optimizer,
      lr: host.spec.lr,
      lora: engine.config.lora,
      model: engine.cfg,
      nonFinite: countNonFinite(A, B),
    };
    const target = single
      ? o.saveAdapter
      : join(o.saveAdapter.replace(/\.safetensors$/i, ''), id.replace(/[^A-Za-z0-9._-]/g, '_'));
    const p = adapterPaths(target);
    writeFileMkdir(p.weights, labelAdapter(safetensors, card));
    writeFileMkdir(p.config, adapterConfig);
    writeFileMkdir(p.readme, adapterReadme(card));
    const warning = card.nonFinite ? `; ${card.nonFinite} of its weights are NaN or Inf` : '';
    report.note(`saved adapter ${id} (${status}${warning}) to ${p.weights}`);
  }
}
