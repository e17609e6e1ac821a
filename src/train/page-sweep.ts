// One sweep started by the page: builds the engine, drives it, and turns the driver's events into the
// page's FromEngine messages (started, metrics, validation, diverged, runsChanged, done).
import type { TokenizedDataset } from '../data/dataset';
import type { Gpu } from '../gpu/context';
import { OPTIMIZERS } from '../optim/optimizer';
import { batchSource, type BatchSource } from './batch';
import { collectResults } from './collect';
import { validateSweep, type RunSpec, type SweepConfig } from './config';
import { SweepDriver, type SweepEvent } from './driver';
import type { AdapterData, FromEngine, RunInfo } from './messages';
import type { LoadedModel } from './page-assets';
import type { StepReport } from './sweep';
import { SweepEngine } from './sweep';

export type Post = (msg: FromEngine, transfer?: Transferable[]) => void;

/** How a run ended (or where it is), as exports and the page word it. */
function runStatus(
  run: { stoppedAtStep: number | null },
  divergedAtStep: number | null,
  step: number,
  total: number,
  finished: boolean,
): string {
  if (divergedAtStep !== null) return `diverged at step ${divergedAtStep}`;
  if (run.stoppedAtStep !== null) return `stopped at step ${run.stoppedAtStep}`;
  if (!finished) return `training, at step ${step}`;
  return step >= total ? 'done' : `stopped at step ${step}`;
}

/** What a finished sweep leaves behind: every run's final adapter. */
export interface SweepOutcome {
  adapters: AdapterData[];
}

export class PageSweep {
  readonly driver: SweepDriver;
  private readonly abort = new AbortController();
  private readonly diverged = new Map<string, number>();
  private finished = false;
  private lastReportSeconds = 0;
  private t0 = 0;
  /** Settles when the sweep has posted 'done' (or 'error') and released its GPU buffers. */
  readonly done: Promise<SweepOutcome | undefined>;

  private constructor(
    readonly sweepId: string,
    private readonly model: LoadedModel,
    private readonly engine: SweepEngine,
    private readonly source: BatchSource,
    private readonly datasetName: string,
    private readonly post: Post,
    private readonly now: () => number,
  ) {
    this.driver = new SweepDriver(engine, (e) => this.onEvent(e));
    this.done = this.run();
  }

  /**
   * Check the settings against the model and data, build the engine and start training. Throws (before
   * anything is posted) on bad settings: a bad field, too little data for one batch.
   */
  static start(
    gpu: Gpu,
    sweepId: string,
    model: LoadedModel,
    dataset: TokenizedDataset,
    config: SweepConfig,
    post: Post,
    now: () => number = () => performance.now(),
  ): PageSweep {
    validateSweep(config, model.cfg.n_positions);
    const source = batchSource(dataset, config);
    const engine = new SweepEngine(gpu, model.cfg, model.weights, config, source);
    return new PageSweep(sweepId, model, engine, source, dataset.name, post, now);
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
    const { A, B } = await e.adapter(i);
    const status = runStatus(host, this.diverged.get(runId) ?? null, e.step, e.config.steps, this.finished);
    return { model: this.model.name, lora: e.config.lora, runId, A, B, spec: host.spec, status };
  }

  private runInfos(): RunInfo[] {
    return this.engine.hostRuns().map((h) => ({
      spec: h.spec,
      startStep: h.startStep,
      stoppedAtStep: h.stoppedAtStep,
    }));
  }

  private async run(): Promise<SweepOutcome | undefined> {
    const { engine, driver, sweepId } = this;
    try {
      const collector = collectResults(
        engine,
        driver,
        { name: this.model.name, cfg: this.model.cfg },
        { name: this.datasetName, trainTokens: this.source.trainTokens, valTokens: this.source.valTokens },
      );
      this.post({
        type: 'started',
        sweepId,
        runs: this.runInfos(),
        totalSteps: engine.config.steps,
        tokensPerStep: engine.config.batch * engine.config.seq,
        trainTokens: this.source.trainTokens,
        valTokens: this.source.valTokens,
      });
      this.t0 = this.now();
      // The driver throttles reports (every 250 ms, and at validations and the end).
      await driver.run({ signal: this.abort.signal, now: this.now, reportEveryMs: 250 });
      this.finished = true;
      const results = collector.finish();
      const adapters: AdapterData[] = [];
      for (const id of this.runIds) adapters.push(await this.readAdapter(id));
      this.post({ type: 'done', sweepId, stopped: engine.step < engine.config.steps, results, adapters });
      return { adapters };
    } catch (err) {
      this.post({
        type: 'error',
        sweepId,
        message: err instanceof Error ? err.message : String(err),
        detail: err instanceof Error ? err.stack : undefined,
      });
      return undefined;
    } finally {
      this.finished = true;
      engine.destroy();
    }
  }

  private onEvent(e: SweepEvent): void {
    const sweepId = this.sweepId;
    switch (e.type) {
      case 'report':
        this.post(this.metrics(e.report));
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
      tokensPerSec: rep.tokensPerSec,
      choleskyFallbacks: rep.choleskyFallbacks,
      divergedAtStep: rep.divergedAtStep,
    };
  }
}
