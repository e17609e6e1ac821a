// LoRA Lab's page: settings on the left (model → dataset → sweep), results on the right (controls and
// progress, loss panels side by side, robustness + runs, samples, exports). See use-lab.ts for the glue.
import { useEffect } from 'react';
import { AddRun } from './components/AddRun';
import { ControlsBar } from './components/ControlsBar';
import { DatasetPanel } from './components/DatasetPanel';
import { Exports } from './components/Exports';
import { Header } from './components/Header';
import { Heatmaps } from './components/Heatmaps';
import { PaperPreset } from './components/PaperPreset';
import { REPRODUCE_PAPER } from '../train/presets';
import { History } from './components/History';
import { Interrupted } from './components/Interrupted';
import { LossPanels } from './components/LossPanels';
import { ModelPanel } from './components/ModelPanel';
import { NoWebGpu } from './components/NoWebGpu';
import { Robustness } from './components/Robustness';
import { RunsTable } from './components/RunsTable';
import { Samples } from './components/Samples';
import { SelfTest } from './components/SelfTest';
import { SettingsForm } from './components/SettingsForm';
import { StartStop } from './components/StartStop';
import type { SweepState } from './state/sweep';
import { useLab } from './use-lab';
import './styles.css';

function phaseText(s: SweepState): string {
  switch (s.phase) {
    case 'idle':
      return '';
    case 'starting':
      return 'Starting: loading the model and compiling kernels…';
    case 'running':
      return 'Training';
    case 'stopping':
      return 'Stopping…';
    case 'finished':
      return s.fromHistory ? 'Opened from History' : s.stopped ? 'Stopped' : 'Finished';
    case 'error':
      return `Error: ${s.error ?? 'unknown'}`;
  }
}

export function App() {
  const lab = useLab();
  const { settings, sweep, gpu } = lab;
  // The tab's title follows a training sweep, so a background tab shows its progress.
  const title =
    lab.active && sweep.totalSteps > 0 ? `Step ${sweep.step}/${sweep.totalSteps} · LoRA Lab` : 'LoRA Lab';
  useEffect(() => {
    document.title = title;
  }, [title]);
  const locked = lab.active;
  const noGpu = gpu.kind === 'missing';
  const firstPrompt = (() => {
    if (lab.dataset.status !== 'ready') return 'The ';
    const ex = lab.dataset.preview.examples[0];
    if (!ex) return 'The ';
    return 'prompt' in ex ? ex.prompt : ex.text.slice(0, 24);
  })();
  const best = lab.rows
    .filter((r) => r.status.kind === 'done' && r.valLoss !== null)
    .sort((a, b) => a.valLoss! - b.valLoss!)[0];
  return (
    <div className="app">
      <Header gpu={gpu} secondsPerStep={lab.progress.secondsPerStep} historyCount={lab.historyItems.length} />
      <main className="layout">
        <aside className="settings" aria-label="Settings">
          {gpu.kind === 'ready' && gpu.info.isSoftware && settings.model === 'lab-gpt' && (
            <p className="notice">
              This GPU is emulated on the CPU.{' '}
              <button
                type="button"
                className="link"
                onClick={() =>
                  lab.dispatchSettings({
                    type: 'set',
                    patch: { model: 'lab-gpt-tiny', steps: 20, batch: 4, seq: 64 },
                  })
                }
              >
                Switch to lab-gpt-tiny with small settings
              </button>
            </p>
          )}
          <ModelPanel
            model={settings.model}
            opened={lab.model.opened}
            card={lab.model.card}
            plan={lab.model.plan}
            open={lab.model.open}
            notice={lab.model.notice}
            disabled={locked || noGpu}
            onChange={(model) => lab.dispatchSettings({ type: 'set', patch: { model } })}
            onFiles={lab.model.onFiles}
            onDrop={lab.model.onDrop}
          />
          <DatasetPanel
            dataset={settings.dataset}
            state={lab.dataset}
            skipBadLines={settings.skipBadLines}
            disabled={locked || noGpu}
            onBuiltin={(name) =>
              lab.dispatchSettings({ type: 'set', patch: { dataset: { kind: 'builtin', name } } })
            }
            onFile={(f) => void lab.chooseFile(f)}
            onSkipBadLines={(skipBadLines) => lab.dispatchSettings({ type: 'set', patch: { skipBadLines } })}
          />
          <SettingsForm
            settings={settings}
            errors={lab.errors}
            disabled={locked}
            dispatch={lab.dispatchSettings}
          >
            <StartStop
              canStart={lab.reason === null}
              reason={lab.reason}
              running={lab.active}
              onStart={lab.start}
              onStop={lab.stop}
            />
          </SettingsForm>
          <PaperPreset preset={REPRODUCE_PAPER} disabled={locked} onApply={lab.applyPreset} />
          <History
            items={lab.historyItems}
            openId={sweep.fromHistory ? sweep.sweepId : null}
            error={lab.historyError}
            onOpen={(id) => void lab.openHistory(id)}
            onDelete={(id) => void lab.deleteHistory(id)}
            disabled={locked}
          />
        </aside>
        <div className="results" aria-label="Results">
          {noGpu && <NoWebGpu reason={gpu.reason} />}
          {lab.interrupted && !lab.active && (
            <Interrupted
              checkpoint={lab.interrupted}
              disabled={gpu.kind !== 'ready'}
              problem={lab.resumeProblem}
              onResume={lab.resume}
              onDiscard={lab.discardInterrupted}
            />
          )}
          <ControlsBar
            step={sweep.step}
            totalSteps={sweep.totalSteps}
            progress={lab.progress}
            stepsPerSec={sweep.stepsPerSec}
            tokensPerSec={sweep.tokensPerSec}
            phaseText={phaseText(sweep)}
            notice={sweep.notice}
            checkpointStep={sweep.checkpointStep}
            finishedSeconds={
              sweep.phase === 'finished' ? (sweep.results?.timings.totalSeconds ?? sweep.lastSeconds) : null
            }
            firstLossMs={
              sweep.firstLossAtMs !== null && sweep.startedAtMs !== null
                ? sweep.firstLossAtMs - sweep.startedAtMs
                : null
            }
            chart={settings.chart}
            onChart={(patch) => lab.dispatchSettings({ type: 'chart', patch })}
          />
          <LossPanels
            data={lab.panels}
            chart={settings.chart}
            emptyHint={
              sweep.phase === 'idle'
                ? 'Loss curves appear here, one line per learning rate, once a sweep starts.'
                : sweep.phase === 'starting'
                  ? 'Loading the model and compiling kernels…'
                  : ''
            }
          />
          <Heatmaps
            maps={lab.heatmaps.maps}
            colorDomain={lab.heatmaps.colorDomain}
            axis={lab.axis}
            metric={settings.chart.metric}
          />
          <div className="below">
            <Robustness
              lines={lab.robustness}
              metric={settings.chart.metric}
              onMetric={(metric) => lab.dispatchSettings({ type: 'chart', patch: { metric } })}
            />
            <RunsTable
              rows={lab.rows}
              axis={lab.axis}
              allLrs={lab.lrs}
              hidden={lab.hidden}
              canStop={lab.active}
              onStop={lab.stopRun}
              addRun={
                <AddRun
                  active={lab.active}
                  axis={lab.axis}
                  axisValues={lab.axisValues}
                  onAddRun={lab.addRun}
                />
              }
              onToggle={(id, visible) =>
                lab.setHidden((h) => {
                  const next = new Set(h);
                  if (visible) next.delete(id);
                  else next.add(id);
                  return next;
                })
              }
            />
          </div>
          <Samples
            choices={lab.finishedRuns}
            defaultPrompt={firstPrompt}
            generate={lab.generate}
            disabled={gpu.kind !== 'ready'}
          />
          <Exports
            runs={lab.finishedRuns}
            defaultRun={best?.id ?? null}
            hasResults={sweep.results !== null}
            onAdapter={lab.exportAdapter}
            onMerged={lab.exportMerged}
            onMergedSafetensors={lab.exportMergedSafetensors}
            onJson={lab.downloadJson}
            onCsv={lab.downloadCsv}
          />
        </div>
      </main>
      <footer className="foot">
        <SelfTest state={lab.selfTest} ready={gpu.kind === 'ready'} onRun={lab.runSelfTest} />
        <p className="hint">
          LoRA Lab · Zhang &amp; Pilanci, “Riemannian Preconditioned LoRA for Fine-Tuning Foundation Models”,
          ICML 2024. Everything runs in this tab; nothing is uploaded.
        </p>
      </footer>
    </div>
  );
}
