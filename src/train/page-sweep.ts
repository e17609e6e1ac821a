// One sweep started by the page: builds the engine, drives it, and turns the driver's events into the
// page's FromEngine messages (started, metrics, validation, diverged, runsChanged, done).
import type { TokenizedDataset } from '../data/dataset';
import type { Gpu } from '../gpu/context';
import { runStatus } from '../io/adapter-card';
import { OPTIMIZERS } from '../optim/optimizer';
import { batchSource, type BatchSource } from './batch';
import { collectResults } from './collect';
import { validateOverrides, validateSweep, type RunSpec, type SweepConfig } from './config';
import { SweepDriver, type SweepEvent } from './driver';
import { modelName, type AdapterData, type FromEngine, type RunInfo } from './messages';
import type { LoadedModel } from './page-assets';
import type { SweepResults } from './results';
import type { StepReport } from './sweep';
import { labelCheckpoint, modelMismatch, readCheckpoint } from './page-checkpoint';
import { SweepEngine } from './sweep';
import { joinResults } from './results';
import { buildEngine, fitPlan, type SettingNames } from './fit';

/** The page names settings by their fields. */
const FIELD_NAMES: SettingNames = { batch: 'batch size', seq: 'sequence length', rank: 'rank' };

export { joinResults } from './results';

export type Post = (msg: FromEngine, transfer?: Transferable[]) => void;

/**
 * How a sweep's life ended: 'done' (posted, with every run's final adapter), 'failed' (an 'error' was
 * posted), or 'lost': the GPU device was lost after a checkpoint, nothing was posted, and the caller
 * may resume from `checkpoint` on a new device.
 */
export type SweepOutcome =
  | { kind: 'done'; adapters: AdapterData[] }
  | { kind: 'failed' }
  | {
      kind: 'lost';
      reason: string;
      lostAtStep: number;
      checkpoint: { step: number; bytes: Uint8Array };
      /** Wall-clock seconds of the sweep when it was lost (the resumed sweep's clock goes on from it). */
      seconds: number;
      results: SweepResults;
    };

export interface PageSweepOptions {
  /** Take (and post) a checkpoint every this many steps; 0 = never. */
  checkpointEvery?: number;
  /** Resumed sweeps: the step of the checkpoint, its wall-clock seconds, and the results up to it. */
  resumed?: { fromStep: number; seconds: number; results?: SweepResults };
  now?: () => number;
}

export class PageSweep {
  readonly driver: SweepDriver;
  private readonly abort = new AbortController();
  private readonly diverged = new Map<string, number>();
  private finished = false;
  private lastReportSeconds: number;
  private t0 = 0;
  private readonly now: () => number;
  private checkpointing = false;
  private lastCheckpoint: { step: number; bytes: Uint8Array } | undefined;
  /** The results so far (resumed sweeps: joined with those before the checkpoint). */
  private results: () => SweepResults = () => {
    throw new Error('internal: results before the sweep started');
  };
  /** Settles when the sweep has posted 'done' (or 'error') and released its GPU buffers. */
  readonly done: Promise<SweepOutcome>;

  private constructor(
    readonly sweepId: string,
    private readonly model: LoadedModel,
    private readonly dataset: TokenizedDataset,
    private readonly engine: SweepEngine,
    private readonly source: BatchSource,
    private readonly post: Post,
    private readonly options: PageSweepOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.lastReportSeconds = options.resumed?.seconds ?? 0;
    this.driver = new SweepDriver(engine, (e) => this.onEvent(e));
    this.done = this.run();
  }

  /**
   * Check the settings against the model and data, build the engine and start training. Throws (before
   * anything is posted) on bad settings: a bad field, too little data for one batch.
   */
  static async start(
    gpu: Gpu,
    sweepId: string,
    model: LoadedModel,
    dataset: TokenizedDataset,
    config: SweepConfig,
    post: Post,
    options: PageSweepOptions = {},
  ): Promise<PageSweep> {
    validateSweep(config, model.cfg.n_positions, model.cfg);
    const source = batchSource(dataset, config);
    // Over the device's limits, or out of memory while allocating: a message naming what to lower.
    const plan = fitPlan(gpu, model.cfg, model.weights, config, FIELD_NAMES);
    const engine = await buildEngine(
      gpu,
      plan,
      FIELD_NAMES,
      () => new SweepEngine(gpu, model.cfg, model.weights, config, source),
    );
    return new PageSweep(sweepId, model, dataset, engine, source, post, options);
  }

  /** Continue a sweep from checkpoint bytes (labelled by page-checkpoint.ts) on the same dataset. */
  static resume(
    gpu: Gpu,
    sweepId: string,
    model: LoadedModel,
    dataset: TokenizedDataset,
    bytes: Uint8Array,
    post: Post,
    options: Omit<PageSweepOptions, 'resumed'> & { seconds?: number; results?: SweepResults } = {},
  ): PageSweep {
    const info = readCheckpoint(bytes);
    const otherModel = modelMismatch(info, { model: model.id, fingerprint: model.fingerprint }, modelName);
    if (otherModel) throw new Error(otherModel);
    if (info.dataset.name !== dataset.name || info.dataset.tokens !== dataset.tokens.length)
      throw new Error(
        `the checkpoint trained on '${info.dataset.name}' (${info.dataset.tokens} tokens); load that dataset to resume (the last parsed is '${dataset.name}', ${dataset.tokens.length} tokens)`,
      );
    const source = batchSource(dataset, info.config);
    const engine = SweepEngine.restore(gpu, model.cfg, model.weights, bytes, source);
    // A recovery knows the lost sweep's clock and results; a checkpoint carries them as of its step.
    const resumed = {
      fromStep: info.step,
      seconds: options.seconds ?? info.seconds ?? 0,
      results: options.results ?? info.results,
    };
    return new PageSweep(sweepId, model, dataset, engine, source, post, { ...options, resumed });
  }

  get runIds(): string[] {
    return this.engine.runSpecs.map((r) => r.id);
  }

  /** Stop the whole sweep at the next step boundary; `done` settles after the 'done' message. */
  stop(): void {
    this.abort.abort();
  }

  /** Queue a new run; throws at once for a run the engine would refuse (so the sweep never dies of it). */
  addRun(spec: RunSpec): void {
    if (this.runIds.includes(spec.id)) throw new Error(`a run '${spec.id}' is already in this sweep`);
    if (!OPTIMIZERS.includes(spec.optimizer)) throw new Error(`unknown optimizer '${spec.optimizer}'`);
    if (!(spec.lr > 0 && Number.isFinite(spec.lr)))
      throw new Error(`learning rate must be a positive number (got ${spec.lr})`);
    validateOverrides(spec);
    this.driver.addRun(spec);
  }

  stopRun(id: string): void {
    if (!this.runIds.includes(id)) throw new Error(`no run '${id}' in this sweep`);
    this.driver.stopRun(id);
  }

  hasRun(id: string): boolean {
    return this.runIds.includes(id);
  }

  /** A run's adapter as it is now, read between two steps. */
  adapter(runId: string): Promise<AdapterData> {
    const read = this.driver.atStepBoundary(() => this.readAdapter(runId));
    // A sweep that fails drops its queue: answer instead of waiting for ever.
    const ended = this.done.then(() => {
      throw new Error(`the sweep ended before run '${runId}' could be read`);
    });
    return Promise.race([read, ended]);
  }

  private async readAdapter(runId: string): Promise<AdapterData> {
    const e = this.engine;
    const i = e.runSpecs.findIndex((r) => r.id === runId);
    if (i < 0) throw new Error(`no run '${runId}' in this sweep`);
    const host = e.hostRuns()[i];
    // A diverged run's adapter is its last good weights; its status says so (from the GPU's state, which
    // may be ahead of the reports).
    const { A, B, divergedAtStep } = await e.adapter(i);
    const diverged = divergedAtStep ?? this.diverged.get(runId) ?? null;
    const status = runStatus(host, diverged, e.step, e.config.steps, this.finished);
    return { model: this.model.id, lora: e.config.lora, runId, A, B, spec: host.spec, status };
  }

  private runInfos(): RunInfo[] {
    return this.engine.hostRuns().map((h) => ({
      spec: h.spec,
      startStep: h.startStep,
      stoppedAtStep: h.stoppedAtStep,
    }));
  }

  private async run(): Promise<SweepOutcome> {
    const { engine, driver, sweepId } = this;
    const resumed = this.options.resumed;
    const collector = collectResults(
      engine,
      driver,
      { name: this.model.name, cfg: this.model.cfg, fingerprint: this.model.fingerprint },
      { name: this.dataset.name, trainTokens: this.source.trainTokens, valTokens: this.source.valTokens },
    );
    const results = () => (resumed ? joinResults(resumed, collector.finish()) : collector.finish());
    this.results = results;
    try {
      this.post({
        type: 'started',
        sweepId,
        runs: this.runInfos(),
        totalSteps: engine.config.steps,
        tokensPerStep: engine.config.batch * engine.config.seq,
        trainTokens: this.source.trainTokens,
        valTokens: this.source.valTokens,
        ...(resumed ? { resumedFromStep: resumed.fromStep } : {}),
      });
      this.t0 = this.now() - (resumed?.seconds ?? 0) * 1000;
      // The driver throttles reports (every 250 ms, and at validations and the end).
      await driver.run({ signal: this.abort.signal, now: this.now, reportEveryMs: 250 });
      this.finished = true;
      const adapters: AdapterData[] = [];
      for (const id of this.runIds) adapters.push(await this.readAdapter(id));
      const stopped = engine.step < engine.config.steps;
      this.post({ type: 'done', sweepId, stopped, results: results(), adapters });
      return { kind: 'done', adapters };
    } catch (err) {
      const lost = await engine.gpu.lostAfterError();
      if (lost !== undefined && this.lastCheckpoint) {
        return {
          kind: 'lost',
          reason: lost,
          lostAtStep: engine.step,
          checkpoint: this.lastCheckpoint,
          seconds: (this.now() - this.t0) / 1000,
          results: results(),
        };
      }
      this.post({
        type: 'error',
        sweepId,
        message: err instanceof Error ? err.message : String(err),
        detail: err instanceof Error ? err.stack : undefined,
      });
      return { kind: 'failed' };
    } finally {
      this.finished = true;
      engine.destroy();
    }
  }

  /** After a report: take a checkpoint when one is due (between two steps, through the driver). */
  private maybeCheckpoint(): void {
    const every = this.options.checkpointEvery ?? 0;
    const since = this.lastCheckpoint?.step ?? this.options.resumed?.fromStep ?? 0;
    const e = this.engine;
    if (every <= 0 || this.checkpointing || e.step - since < every || e.step >= e.config.steps) return;
    this.checkpointing = true;
    this.driver
      .checkpoint()
      .then(({ step, bytes }) => {
        const labelled = labelCheckpoint(bytes, {
          model: this.model.id,
          fingerprint: this.model.fingerprint,
          dataset: { name: this.dataset.name, tokens: this.dataset.tokens.length },
          seconds: (this.now() - this.t0) / 1000,
          results: this.results(),
        });
        this.lastCheckpoint = { step, bytes: labelled };
        // The page gets its own copy (transferred); this one stays for a device-loss recovery.
        const copy = labelled.slice();
        this.post({ type: 'checkpoint', sweepId: this.sweepId, step, bytes: copy }, [copy.buffer]);
      })
      // A failing checkpoint fails the sweep's loop too, which reports it.
      .catch(() => undefined)
      .finally(() => (this.checkpointing = false));
  }

  private onEvent(e: SweepEvent): void {
    const sweepId = this.sweepId;
    switch (e.type) {
      case 'report':
        this.post(this.metrics(e.report));
        this.maybeCheckpoint();
        break;
      case 'validation':
        this.post({ type: 'validation', sweepId, runIds: this.runIds, step: e.step, losses: e.losses });
        break;
      case 'diverged':
        this.diverged.set(e.runId, e.step);
        this.post({ type: 'diverged', sweepId, runId: e.runId, step: e.step });
        break;
      case 'runsChanged':
        this.post({ type: 'runsChanged', sweepId, runs: this.runInfos() });
        break;
      case 'done':
        break;
    }
  }

  /**
   * One report as a metrics message. Wall time is measured once per report, so each step's time is
   * interpolated between the previous report and now. Losses are NaN where a run was not training:
   * before it joined, after it was stopped, after it diverged, and where the loss is not finite.
   */
  private metrics(rep: StepReport): FromEngine {
    const seconds = (this.now() - this.t0) / 1000;
    const from = this.lastReportSeconds;
    this.lastReportSeconds = seconds;
    const n = rep.steps.length;
    const hosts = this.engine.hostRuns();
    const losses = rep.steps.map((step, k) =>
      rep.losses[k].map((loss, i) => {
        const h = hosts[i];
        const div = rep.divergedAtStep[i];
        const training =
          step > h.startStep &&
          (h.stoppedAtStep === null || step <= h.stoppedAtStep) &&
          (div === null || step <= div);
        return training && Number.isFinite(loss) ? loss : NaN;
      }),
    );
    const window = seconds - from;
    return {
      type: 'metrics',
      sweepId: this.sweepId,
      runIds: this.runIds,
      steps: rep.steps,
      losses,
      seconds: rep.steps.map((_, k) => from + (window * (k + 1)) / n),
      stepsPerSec: window > 0 ? n / window : 0,
      tokensPerSec:
        window > 0 ? (n * hosts.length * this.engine.config.batch * this.engine.config.seq) / window : 0,
      choleskyFallbacks: rep.choleskyFallbacks,
      divergedAtStep: rep.divergedAtStep,
    };
  }
}
