// The engine side of the page: answers every ToEngine message (messages.ts) with FromEngine messages.
// The Web Worker (worker.ts) is a thin shell around it; tests drive it directly in Node.
import type { TokenizedDataset } from '../data/dataset';
import type { Gpu } from '../gpu/context';
import { OPTIMIZERS } from '../optim/optimizer';
import { loraLayout } from '../model/lora-layout';
import {
  isBuiltinModel,
  modelName,
  type AdapterData,
  type AdapterRef,
  type DatasetProgressPhase,
  type ModelId,
  type ToEngine,
} from './messages';
import {
  datasetBytes,
  locateError,
  modelCard,
  parseForPage,
  type FetchAsset,
  type LoadedModel,
} from './page-assets';
import { PageModels, planForPage } from './page-models';
import {
  Generator,
  adapterZip,
  mergedFileName,
  mergedOnnx,
  mergedSafetensorsZip,
  type ResolvedAdapter,
} from './page-export';
import { PageSweep, type PageSweepOptions, type Post, type SweepOutcome } from './page-sweep';
import { readCheckpoint } from './page-checkpoint';
import { engineSelfTest } from './self-test';

/** A parsed dataset and whose tokenizer made it: 'bytes', or an opened model's id. */
interface ParsedFor {
  dataset: TokenizedDataset;
  tokenizer: 'bytes' | ModelId;
}

/** The built-in models share byte tokenization; an opened model has its own. */
const tokenizerKey = (model: ModelId | undefined): 'bytes' | ModelId =>
  model === undefined || isBuiltinModel(model) ? 'bytes' : model;

export interface PageSessionDeps {
  /** Acquire the GPU; called once, on the first message that needs it (and again after a failure). */
  gpu: () => Promise<Gpu>;
  fetchAsset: FetchAsset;
  post: Post;
  now?: () => number;
}

type Message<T extends ToEngine['type']> = Extract<ToEngine, { type: T }>;

export class PageSession {
  private gpuPromise: Promise<Gpu> | undefined;
  private readonly models: PageModels;
  private readonly generator = new Generator();
  /**
   * The last parsed dataset and whose tokenizer made it ('bytes' or an opened model's id); undefined after
   * a failed parse. A 'start' right after a parse waits for it.
   */
  private dataset: Promise<ParsedFor | undefined> = Promise.resolve(undefined);
  /** The sweep training now (between a device loss and its recovery: none). */
  private sweep: PageSweep | undefined;
  /** The sweep's whole life, device-loss recoveries included; undefined when no sweep is running. */
  private life: Promise<void> | undefined;
  private stopRequested = false;
  /** The final adapters of the last finished sweep, by run id (AdapterRef 'run' after 'done'). */
  private finished = new Map<string, AdapterData>();
  private readonly post: Post;

  constructor(private readonly deps: PageSessionDeps) {
    this.models = new PageModels(deps.fetchAsset);
    this.post = deps.post;
  }

  /** Answer one message. Never throws: failures become 'error' / 'datasetError' messages. */
  async handle(msg: ToEngine): Promise<void> {
    try {
      await this.dispatch(msg);
    } catch (err) {
      const requestId = 'requestId' in msg ? msg.requestId : undefined;
      const sweepId = msg.type === 'start' || msg.type === 'resume' ? msg.sweepId : undefined;
      this.post({
        type: 'error',
        ...(requestId !== undefined ? { requestId } : {}),
        ...(sweepId !== undefined ? { sweepId } : {}),
        message: err instanceof Error ? err.message : String(err),
        detail: err instanceof Error ? err.stack : undefined,
      });
    }
  }

  /** Settles when no sweep is training (tests, and a clean shutdown). */
  async idle(): Promise<void> {
    while (this.life) await this.life;
  }

  private async dispatch(msg: ToEngine): Promise<void> {
    switch (msg.type) {
      case 'hello':
        this.post({ type: 'ready', adapter: (await this.gpu()).info });
        return;
      case 'selfTest':
        this.post({ type: 'selfTest', result: await engineSelfTest(await this.gpu()) });
        return;
      case 'parseDataset':
        return this.parseDataset(msg);
      case 'openModel':
        return this.openModel(msg);
      case 'planSweep':
        return this.planSweep(msg);
      case 'start':
        return this.start(msg);
      case 'resume':
        return this.resume(msg);
      case 'addRun':
        return this.requireSweep('addRun').addRun(msg.run);
      case 'stopRun':
        return this.requireSweep('stopRun').stopRun(msg.runId);
      case 'stop':
        this.stopRequested = true;
        this.sweep?.stop();
        return;
      case 'generate':
        return this.generate(msg);
      case 'exportAdapter':
        return this.exportAdapter(msg);
      case 'exportMerged':
        return this.exportMerged(msg);
      default: {
        const unknown: never = msg;
        throw new Error(`unknown message ${JSON.stringify(unknown)}`);
      }
    }
  }

  private async gpu(): Promise<Gpu> {
    const current = this.gpuPromise;
    const known = await current?.catch(() => undefined);
    // A lost device (driver reset, GPU process crash) never comes back: acquire a new one (once).
    if (known?.lostReason !== undefined && this.gpuPromise === current) this.gpuPromise = undefined;
    if (!this.gpuPromise) {
      const p = this.deps.gpu();
      // No WebGPU now does not mean never (a flag, a driver): let the next message try again.
      p.catch(() => {
        if (this.gpuPromise === p) this.gpuPromise = undefined;
      });
      this.gpuPromise = p;
    }
    return this.gpuPromise;
  }

  private requireSweep(what: string): PageSweep {
    if (!this.sweep) throw new Error(`${what}: no sweep is training`);
    return this.sweep;
  }

  private async parseDataset(msg: Message<'parseDataset'>): Promise<void> {
    // A failed parse must not leave the previous file in place for the next 'start'.
    this.dataset = this.parse(msg);
    await this.dataset;
  }

  private async parse(msg: Message<'parseDataset'>): Promise<ParsedFor | undefined> {
    const { requestId, source } = msg;
    let name = source.name;
    try {
      const of = this.models.tokenizerOf(msg.model);
      const file = await datasetBytes(source, this.deps.fetchAsset);
      name = file.name;
      // Tokenizing with a tokenizer.json takes a while (a large file: minutes): say how far it has come.
      // Bytes are read at once, with no progress to tell.
      let onProgress: ((fraction: number) => void) | undefined;
      if (of.tokenizer.kind !== 'bytes') {
        const tokenizer = { kind: 'tokenizer.json' as const, model: of.model };
        const progress = (fraction: number, phase: DatasetProgressPhase) =>
          this.post({ type: 'datasetProgress', requestId, fraction, phase, tokenizer });
        progress(0, 'reading');
        onProgress = (fraction) => progress(fraction, 'tokenizing');
      }
      const { dataset, preview } = parseForPage(file.name, file.bytes, msg.options, of, onProgress);
      this.post({ type: 'dataset', requestId, preview });
      return { dataset, tokenizer: tokenizerKey(msg.model) };
    } catch (err) {
      this.post({ type: 'datasetError', requestId, error: locateError(name, err) });
      return undefined;
    }
  }

  private async openModel(msg: Message<'openModel'>): Promise<void> {
    const model = this.models.open(msg.files, msg.folder);
    this.post({ type: 'modelOpened', requestId: msg.requestId, card: modelCard(model) });
  }

  private async planSweep(msg: Message<'planSweep'>): Promise<void> {
    const [gpu, model] = await Promise.all([this.gpu(), this.models.get(msg.model)]);
    const card = modelCard(model);
    try {
      const plan = planForPage(gpu, model, msg.sweep);
      this.post({ type: 'sweepPlan', requestId: msg.requestId, card, plan });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.post({ type: 'sweepPlan', requestId: msg.requestId, card, error });
    }
  }

  private async start(msg: Message<'start'>): Promise<void> {
    // One sweep at a time: the old one posts its 'done' (stopped) before the new one starts.
    await this.stopSweep();
    const dataset = await this.requireDataset(msg.model);
    for (const r of msg.sweep.runs)
      if (!OPTIMIZERS.includes(r.optimizer)) throw new Error(`unknown optimizer '${r.optimizer}'`);
    const [gpu, model] = await Promise.all([this.gpu(), this.models.get(msg.model)]);
    // Another 'start' may have arrived while the model loaded: the last one wins.
    await this.stopSweep();
    const options = { checkpointEvery: msg.checkpointEvery, now: this.deps.now };
    const sweep = await PageSweep.start(gpu, msg.sweepId, model, dataset, msg.sweep, this.post, options);
    this.launch(sweep, model, dataset, options);
  }

  private async resume(msg: Message<'resume'>): Promise<void> {
    await this.stopSweep();
    const { model: name } = readCheckpoint(msg.checkpoint);
    const dataset = await this.requireDataset(name);
    const [gpu, model] = await Promise.all([this.gpu(), this.models.get(name)]);
    await this.stopSweep();
    const options = { checkpointEvery: msg.checkpointEvery, now: this.deps.now };
    const sweep = PageSweep.resume(gpu, msg.sweepId, model, dataset, msg.checkpoint, this.post, options);
    this.launch(sweep, model, dataset, options);
  }

  /** The last parsed dataset, which must have been tokenized for `model`. */
  private async requireDataset(model: ModelId): Promise<TokenizedDataset> {
    const parsed = await this.dataset;
    if (!parsed) throw new Error('no dataset: choose or upload a dataset first');
    if (parsed.tokenizer !== tokenizerKey(model))
      throw new Error(
        `the dataset was read with ${parsed.tokenizer === 'bytes' ? 'byte tokenization' : `the tokenizer of '${modelName(parsed.tokenizer)}'`}, not ${modelName(model)}'s: read it again for this model`,
      );
    return parsed.dataset;
  }

  /** Follow a sweep to its end; a device lost after a checkpoint resumes on a new device. */
  private launch(first: PageSweep, model: LoadedModel, dataset: TokenizedDataset, options: PageSweepOptions) {
    this.stopRequested = false;
    this.sweep = first;
    this.life = (async () => {
      for (let sweep: PageSweep | undefined = first; sweep;) {
        const outcome: SweepOutcome = await sweep.done;
        this.sweep = undefined;
        if (outcome.kind === 'done') this.finished = new Map(outcome.adapters.map((a) => [a.runId, a]));
        sweep =
          outcome.kind === 'lost'
            ? await this.recover(sweep.sweepId, outcome, model, dataset, options)
            : undefined;
        // A stop (or a new start) during the recovery: the resumed sweep ends at once with its 'done'.
        if (sweep && this.stopRequested) sweep.stop();
        this.sweep = sweep;
      }
      this.life = undefined;
    })();
  }

  private async recover(
    sweepId: string,
    lost: Extract<SweepOutcome, { kind: 'lost' }>,
    model: LoadedModel,
    dataset: TokenizedDataset,
    options: PageSweepOptions,
  ): Promise<PageSweep | undefined> {
    const fromStep = lost.checkpoint.step;
    try {
      const gpu = await this.gpu();
      this.post({
        type: 'recovered',
        sweepId,
        fromStep,
        lostAtStep: lost.lostAtStep,
        redoneSteps: lost.lostAtStep - fromStep,
        message: `The GPU device was lost (${lost.reason}); training goes on from the checkpoint of step ${fromStep} on a new device.`,
      });
      return PageSweep.resume(gpu, sweepId, model, dataset, lost.checkpoint.bytes, this.post, {
        ...options,
        seconds: lost.seconds,
        results: lost.results,
      });
    } catch (err) {
      this.post({
        type: 'error',
        sweepId,
        message: `The GPU device was lost (${lost.reason}) and the sweep could not go on: ${err instanceof Error ? err.message : String(err)}`,
      });
      return undefined;
    }
  }

  private async stopSweep(): Promise<void> {
    while (this.life) {
      this.stopRequested = true;
      this.sweep?.stop();
      await this.life;
    }
  }

  /**
   * The weights an AdapterRef names. A run of the sweep now training is read live between two steps
   * (its status says 'training, at step N'); otherwise the last finished sweep's final adapter.
   */
  private async resolve(ref: AdapterRef): Promise<ResolvedAdapter> {
    if (ref.kind === 'base') return { model: await this.models.get(ref.model) };
    let adapter: AdapterData | undefined;
    if (ref.kind === 'data') adapter = ref.adapter;
    else if (this.sweep?.hasRun(ref.runId)) adapter = await this.sweep.adapter(ref.runId);
    else if (this.life && !this.sweep)
      throw new Error('the sweep is moving to a new GPU device after a device loss; try again in a moment');
    else adapter = this.finished.get(ref.runId);
    if (!adapter)
      throw new Error(`no run '${ref.kind === 'run' ? ref.runId : ''}' in the current or last sweep`);
    const model = await this.models.get(adapter.model);
    // An opened model replaced by another of the same name: its adapter does not fit the new one.
    const layout = loraLayout(model.cfg, adapter.lora);
    if (layout.SA !== adapter.A.length || layout.SB !== adapter.B.length)
      throw new Error(
        `this adapter was trained on another model named '${model.name}': open that model's files again`,
      );
    return { model, adapter };
  }

  private async generate(msg: Message<'generate'>): Promise<void> {
    // Queued at once, in the order the requests came; the run is read when its turn comes.
    const { text, seconds } = await this.generator.sample(() => this.resolve(msg.from), msg);
    this.post({ type: 'generated', requestId: msg.requestId, text, seconds });
  }

  private async exportAdapter(msg: Message<'exportAdapter'>): Promise<void> {
    const resolved = await this.resolve(msg.from);
    if (!resolved.adapter) throw new Error('the base model has no adapter to export (choose a run)');
    const { fileName, bytes } = adapterZip(resolved.model, resolved.adapter);
    this.postBytes(msg.requestId, fileName, 'application/zip', bytes);
  }

  private async exportMerged(msg: Message<'exportMerged'>): Promise<void> {
    const resolved = await this.resolve(msg.from);
    if (msg.format === 'safetensors') {
      const { fileName, bytes } = mergedSafetensorsZip(resolved);
      this.postBytes(msg.requestId, fileName, 'application/zip', bytes);
      return;
    }
    const bytes = mergedOnnx(resolved);
    this.postBytes(msg.requestId, mergedFileName(resolved), 'application/octet-stream', bytes);
  }

  /** `bytes` must be a fresh array the engine keeps no reference to: its buffer is transferred. */
  private postBytes(requestId: number, fileName: string, mime: string, bytes: Uint8Array): void {
    this.post({ type: 'exported', requestId, fileName, mime, bytes }, [bytes.buffer as ArrayBuffer]);
  }
}
