// The page's controller: the four state concerns (settings, dataset, sweep, history), the engine, and
// the handlers the components call. Components stay presentational; this is the only glue.
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import {
  isBuiltinModel,
  isOpenedModel,
  modelName,
  type AdapterRef,
  type FromEngine,
  type ModelCard,
  type ModelId,
} from '../train/messages';
import { resultsToCsv } from '../train/results';
import { modelMismatch, readCheckpoint } from '../train/page-checkpoint';
import { formatLr } from './charts/formatLr';
import { downloadBytes, downloadText } from './download';
import { datasetReducer, EMPTY_DATASET, fileSizeError } from './state/dataset';
import * as historyDb from './state/history';
import {
  fromQuery,
  modelPositions,
  OPTIMIZER_LABELS,
  settingsReducer,
  toQuery,
  toSweepConfig,
  validateSettings,
  withDefaults,
  type Settings,
} from './state/settings';
import { isActive, IDLE_SWEEP, progressOf, runRows, sweepReducer } from './state/sweep';
import { heatmaps, lossPanels, robustnessLines, sweepLrs } from './state/chart-data';
import { presetSettings } from './state/preset';
import { addedRun, type AddRunError, type AddRunRequest } from './state/add-run';
import { AXIS_SHORT, formatAxisValue, secondValueOf } from './state/second-axis';
import { REPRODUCE_PAPER } from '../train/presets';
import { useEngine } from './use-engine';
import { useModel, usePlan } from './use-model';

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function useLab() {
  const [settings, dispatchSettings] = useReducer(settingsReducer, undefined, () =>
    fromQuery(typeof location !== 'undefined' ? location.search : ''),
  );
  const [dataset, dispatchDataset] = useReducer(datasetReducer, EMPTY_DATASET);
  const [sweep, dispatchSweep] = useReducer(sweepReducer, IDLE_SWEEP);
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const [historyItems, setHistoryItems] = useState<historyDb.SweepSummary[]>([]);
  const [historyError, setHistoryError] = useState<string | null>(null);
  const startedWith = useRef<Settings | null>(null);
  const savedIds = useRef(new Set<string>());
  const file = useRef<{ name: string; bytes: ArrayBuffer } | null>(null);
  const [fileVersion, setFileVersion] = useState(0);

  const [interrupted, setInterrupted] = useState<historyDb.StoredCheckpoint | null>(null);
  const [pendingResume, setPendingResume] = useState<historyDb.StoredCheckpoint | null>(null);

  const onMessages = useCallback((messages: FromEngine[]) => {
    dispatchSweep({ type: 'engine', messages, nowMs: performance.now() });
    for (const m of messages) {
      const settingsNow = startedWith.current;
      if (m.type !== 'checkpoint' || !settingsNow) continue;
      // The latest checkpoint of the training sweep: a reload (or a crash) can resume from it.
      historyDb
        .saveCheckpoint({
          sweepId: m.sweepId,
          step: m.step,
          totalSteps: settingsNow.steps,
          savedAt: Date.now(),
          settings: settingsNow,
          bytes: m.bytes,
        })
        .catch((e) => setHistoryError(historyDb.storageErrorText(e)));
    }
  }, []);
  const { client, gpu, selfTest, runSelfTest } = useEngine(onMessages);
  const model = useModel(client, settings, dispatchSettings);

  // Configuration → URL (replaceState: settings edits do not flood the back button).
  useEffect(() => {
    const q = toQuery(settings);
    if (location.search.slice(1) !== q) replaceUrl(`?${q}${location.hash}`);
  }, [settings]);

  // Parse the chosen dataset in the Worker whenever the choice, its options or the tokenizer change (the
  // built-in models share byte tokenization; an opened model has its own tokenizer.json).
  const tokenizer = isOpenedModel(settings.model) ? `${settings.model}#${model.openedVersion}` : 'bytes';
  const tokenizerReady = !isOpenedModel(settings.model) || model.opened?.id === settings.model;
  const parseKey = `${settings.dataset.kind}:${settings.dataset.name}:${settings.skipBadLines}:${settings.valFraction}:${fileVersion}:${tokenizer}`;
  useEffect(() => {
    if (!client || gpu.kind !== 'ready' || !tokenizerReady) return;
    if (!(settings.valFraction > 0 && settings.valFraction < 0.9)) return;
    const d = settings.dataset;
    let source;
    if (d.kind === 'builtin') source = { kind: 'builtin' as const, name: d.name };
    else if (file.current && file.current.name === d.name)
      source = { kind: 'file' as const, name: d.name, bytes: file.current.bytes.slice(0) };
    else {
      dispatchDataset({ type: 'clear' });
      return;
    }
    const requestId = Date.now() + Math.random();
    dispatchDataset({ type: 'parsing', name: d.name, requestId });
    const options = { skipBadLines: settings.skipBadLines, valFraction: settings.valFraction };
    const forModel = isOpenedModel(settings.model) ? { model: settings.model } : {};
    client
      .request(
        { type: 'parseDataset', source, options, ...forModel },
        source.kind === 'file' ? [source.bytes] : [],
        ({ fraction, phase, tokenizer }) =>
          dispatchDataset({ type: 'progress', requestId, fraction, phase, tokenizer }),
      )
      .then((m) => {
        if (m.type === 'dataset') dispatchDataset({ type: 'parsed', requestId, preview: m.preview });
        else if (m.type === 'datasetError') dispatchDataset({ type: 'invalid', requestId, error: m.error });
      })
      .catch((e) => dispatchDataset({ type: 'failed', requestId, name: d.name, message: errorText(e) }));
  }, [client, gpu.kind, parseKey, tokenizerReady]);

  const refreshHistory = useCallback(() => {
    historyDb
      .listSweeps()
      .then(setHistoryItems)
      .catch((e) => setHistoryError(`Could not read History: ${errorText(e)}`));
  }, []);
  useEffect(refreshHistory, [refreshHistory]);
  useEffect(() => {
    historyDb
      .loadCheckpoint()
      .then((c) => setInterrupted(c ?? null))
      .catch(() => setInterrupted(null));
  }, []);

  // A finished or stopped sweep trained here is kept in IndexedDB (once).
  useEffect(() => {
    if (sweep.phase !== 'finished' || sweep.fromHistory || !sweep.results || !sweep.sweepId) return;
    if (savedIds.current.has(sweep.sweepId)) return;
    savedIds.current.add(sweep.sweepId);
    const summary = historyDb.summarize(
      sweep.sweepId,
      startedWith.current ?? settings,
      sweep.results,
      sweep.stopped,
      Date.now(),
    );
    historyDb
      .saveSweep(summary, {
        id: sweep.sweepId,
        results: sweep.results,
        adapters: sweep.adapters,
        stopped: sweep.stopped,
      })
      .then(() => {
        setHistoryError(null);
        refreshHistory();
        return historyDb.clearCheckpoint();
      })
      .catch((e) => setHistoryError(historyDb.storageErrorText(e)));
  }, [sweep, settings, refreshHistory]);

  const errors = useMemo(
    () => validateSettings(settings, modelPositions(settings.model, model.opened ?? undefined)),
    [settings, model.opened],
  );
  const { card, plan } = usePlan(
    client,
    gpu.kind === 'ready',
    settings,
    Object.keys(errors).length === 0,
    model.opened,
    model.openedVersion,
  );
  const active = isActive(sweep);
  const resumeProblem = useResumeProblem(interrupted, [model.opened, card]);
  const errorCount = Object.keys(errors).length;
  let reason: string | null = null;
  if (gpu.kind !== 'ready')
    reason = gpu.kind === 'waiting' ? 'Waiting for the GPU…' : 'WebGPU is not available.';
  else if (active) reason = 'A sweep is running.';
  else if (errorCount > 0)
    reason = `Fix ${errorCount === 1 ? 'the setting' : `the ${errorCount} settings`} marked above: ${Object.values(errors)[0]}`;
  else if (dataset.status === 'parsing') reason = 'Reading the dataset…';
  else if (dataset.status !== 'ready') reason = 'Choose a dataset that parses.';

  const start = () => {
    if (reason || !client) return;
    const config = toSweepConfig(settings);
    const sweepId = `sweep-${Date.now().toString(36)}`;
    startedWith.current = settings;
    setHidden(new Set());
    dispatchSweep({
      type: 'starting',
      sweepId,
      runs: config.runs,
      totalSteps: config.steps,
      nowMs: performance.now(),
    });
    setInterrupted(null);
    void historyDb.clearCheckpoint().catch(() => undefined);
    client.send({
      type: 'start',
      sweepId,
      model: settings.model,
      sweep: config,
      checkpointEvery: historyDb.checkpointEvery(config.steps),
    });
  };

  // Resume: the stored settings come back first (so their dataset is parsed), then the checkpoint goes
  // to the engine, which waits for that parse and checks the dataset against the checkpoint's.
  const resume = () => {
    if (!interrupted || active || resumeProblem) return;
    dispatchSettings({
      type: 'replace',
      settings: { ...withDefaults(interrupted.settings), chart: settings.chart },
    });
    setPendingResume(interrupted);
  };
  const discardInterrupted = () => {
    setInterrupted(null);
    void historyDb.clearCheckpoint().catch(() => undefined);
  };
  useEffect(() => {
    if (!pendingResume || !client || gpu.kind !== 'ready') return;
    setPendingResume(null);
    setInterrupted(null);
    const c = pendingResume;
    startedWith.current = withDefaults(c.settings);
    setHidden(new Set());
    let results = null;
    try {
      results = readCheckpoint(c.bytes).results ?? null;
    } catch {
      results = null; // the engine refuses it with a readable message
    }
    const nowMs = performance.now();
    dispatchSweep({
      type: 'resuming',
      sweepId: c.sweepId,
      results,
      totalSteps: c.totalSteps,
      step: c.step,
      nowMs,
    });
    client.send({
      type: 'resume',
      sweepId: c.sweepId,
      checkpoint: c.bytes.slice(),
      checkpointEvery: historyDb.checkpointEvery(c.totalSteps),
    });
  }, [pendingResume, client, gpu.kind]);
  // The second axis of the sweep on screen (the one it started with, and its values), else of the settings.
  const axisOf = sweep.phase !== 'idle' && startedWith.current ? startedWith.current : settings;
  const axis = axisOf.secondAxis;
  const axisValues = axisOf.secondValues;
  const stop = () => {
    dispatchSweep({ type: 'stopping' });
    client?.send({ type: 'stop' });
  };
  const stopRun = (id: string) => client?.send({ type: 'stopRun', runId: id });
  const addRun = (request: AddRunRequest): AddRunError | null => {
    if (!active || !client) return { field: null, message: 'Runs can be added while a sweep trains.' };
    const added = addedRun(sweep, axis, request);
    if ('error' in added) return added.error;
    client.send({ type: 'addRun', run: added.run });
    return null;
  };

  const resultsModel = sweep.results?.model.name;
  const sweepModel: ModelId =
    startedWith.current?.model ??
    (resultsModel && isBuiltinModel(resultsModel) ? resultsModel : undefined) ??
    settings.model;
  const adapterRef = (id: string): AdapterRef => {
    const adapter = sweep.adapters.find((a) => a.runId === id);
    return adapter ? { kind: 'data', adapter } : { kind: 'run', runId: id };
  };
  const finishedRuns = useMemo(
    () =>
      sweep.order
        .map((id) => sweep.runs[id])
        .filter((r) => r.status.kind === 'done' || r.status.kind === 'stopped')
        .filter((r) => !sweep.fromHistory || sweep.adapters.some((a) => a.runId === r.id))
        .map((r) => {
          const v = secondValueOf(r, axis);
          const second = v !== null && axis !== 'none' ? ` ${AXIS_SHORT[axis]} ${formatAxisValue(v)}` : '';
          return { id: r.id, label: `${OPTIMIZER_LABELS[r.optimizer]} lr ${formatLr(r.lr)}${second}` };
        }),
    [sweep.order, sweep.runs, sweep.adapters, sweep.fromHistory, axis],
  );

  const generate = async (from: string, prompt: string) => {
    if (!client) throw new Error('The engine is not running.');
    const ref: AdapterRef = from === 'base' ? { kind: 'base', model: sweepModel } : adapterRef(from);
    const m = await client.request({
      type: 'generate',
      from: ref,
      prompt,
      maxTokens: 120,
      temperature: 0.7,
      topK: 40,
      seed: 0,
    });
    if (m.type !== 'generated') throw new Error('unexpected answer from the engine');
    return { text: m.text, seconds: m.seconds };
  };
  const exportVia =
    (type: 'exportAdapter' | 'exportMerged', format?: 'onnx' | 'safetensors') => async (id: string) => {
      if (!client) throw new Error('The engine is not running.');
      const m = await client.request(
        type === 'exportMerged' ? { type, from: adapterRef(id), format } : { type, from: adapterRef(id) },
      );
      if (m.type !== 'exported') throw new Error('unexpected answer from the engine');
      downloadBytes(m.bytes, m.fileName, m.mime);
    };
  const stamp = sweep.sweepId ?? 'sweep';
  const downloadJson = () =>
    sweep.results &&
    downloadText(JSON.stringify(sweep.results, null, 1), `lora-lab-${stamp}.json`, 'application/json');
  const downloadCsv = () =>
    sweep.results && downloadText(resultsToCsv(sweep.results), `lora-lab-${stamp}.csv`, 'text/csv');

  const openHistory = async (id: string) => {
    try {
      const [stored, summary] = [await historyDb.loadSweep(id), historyItems.find((h) => h.id === id)];
      if (!stored) throw new Error('that sweep is no longer stored');
      if (summary)
        dispatchSettings({
          type: 'replace',
          settings: { ...withDefaults(summary.settings), chart: settings.chart },
        });
      startedWith.current = summary ? withDefaults(summary.settings) : null;
      setHidden(new Set());
      dispatchSweep({
        type: 'reopen',
        sweepId: id,
        results: stored.results,
        adapters: stored.adapters,
        stopped: stored.stopped,
      });
    } catch (e) {
      setHistoryError(`Could not open that sweep: ${errorText(e)}`);
    }
  };
  const deleteHistory = async (id: string) => {
    try {
      await historyDb.deleteSweep(id);
      refreshHistory();
    } catch (e) {
      setHistoryError(`Could not delete that sweep: ${errorText(e)}`);
    }
  };

  const chooseFile = async (f: File) => {
    try {
      // Refused before reading: a file over the limit would only be read to be refused by the parser.
      const tooLarge = fileSizeError(f.size);
      if (tooLarge) throw new Error(tooLarge);
      file.current = { name: f.name, bytes: await f.arrayBuffer() };
      setFileVersion((v) => v + 1);
      dispatchSettings({ type: 'set', patch: { dataset: { kind: 'file', name: f.name } } });
    } catch (e) {
      dispatchDataset({ type: 'parsing', name: f.name, requestId: -1 });
      dispatchDataset({ type: 'failed', requestId: -1, name: f.name, message: errorText(e) });
    }
  };

  const applyPreset = () => {
    if (active) return;
    dispatchSettings({ type: 'replace', settings: presetSettings(REPRODUCE_PAPER, settings) });
  };

  const panels = useMemo(
    () => lossPanels(sweep, settings.chart, hidden, settings.optimizers, settings.steps, axis),
    [sweep, settings.chart, hidden, settings.optimizers, settings.steps, axis],
  );
  const robustness = useMemo(
    () => robustnessLines(sweep, settings.chart.metric, axis),
    [sweep, settings.chart.metric, axis],
  );
  const maps = useMemo(
    () => heatmaps(sweep, settings.chart.metric, axis),
    [sweep, settings.chart.metric, axis],
  );
  const rows = useMemo(() => runRows(sweep, axis), [sweep, axis]);
  const lrs = useMemo(() => sweepLrs(sweep), [sweep]);
  const progress = progressOf(sweep);

  return {
    settings,
    dispatchSettings,
    errors,
    dataset,
    sweep,
    gpu,
    model: { ...model, card, plan },
    sweepModel,
    selfTest,
    runSelfTest,
    active,
    reason,
    start,
    interrupted,
    resumeProblem,
    resume,
    discardInterrupted,
    stop,
    stopRun,
    addRun,
    hidden,
    setHidden,
    generate,
    exportAdapter: exportVia('exportAdapter'),
    exportMerged: exportVia('exportMerged'),
    exportMergedSafetensors: exportVia('exportMerged', 'safetensors'),
    downloadJson,
    downloadCsv,
    finishedRuns,
    historyItems,
    historyError,
    openHistory,
    deleteHistory,
    chooseFile,
    applyPreset,
    axis,
    axisValues,
    panels,
    robustness,
    heatmaps: maps,
    rows,
    lrs,
    progress,
  };
}

function replaceUrl(url: string) {
  window.history.replaceState(window.history.state, '', url);
}

/**
 * Why the interrupted sweep cannot resume on the model open now, or null: its checkpoint is of a model of
 * the same name with another fingerprint (other weights). Unknown until that model is open (its files are
 * not stored); a checkpoint without a fingerprint (older) is offered by its name, as before.
 */
function useResumeProblem(
  interrupted: historyDb.StoredCheckpoint | null,
  cards: (ModelCard | null)[],
): string | null {
  const label = useMemo(() => {
    if (!interrupted) return null;
    try {
      return readCheckpoint(interrupted.bytes);
    } catch {
      return null; // the engine refuses it with a readable message
    }
  }, [interrupted]);
  const here = label ? cards.find((c) => c?.id === label.model) : undefined;
  if (!label || !here) return null;
  const why = modelMismatch(label, { model: here.id, fingerprint: here.fingerprint }, modelName);
  return why
    ? `It cannot resume on the model open now: ${why}. Open the files of the model it trained.`
    : null;
}
