// Dataset choice (built-in, file input, drag and drop) and what the engine made of it. Examples are
// rendered as text by React (never as HTML).
import { ProgressBar } from './ProgressBar';
import { useState } from 'react';
import { MAX_DATASET_SIZE_TEXT } from '../../data/dataset';
import {
  BUILTIN_DATASETS,
  type BuiltinDataset,
  type DatasetPreview,
  type DatasetTokenizer,
} from '../../train/messages';
import {
  formatBytes,
  locatedErrorText,
  percentText,
  type DatasetState,
  type ParseProgress,
} from '../state/dataset';
import type { Settings } from '../state/settings';

export interface DatasetPanelProps {
  dataset: Settings['dataset'];
  state: DatasetState;
  skipBadLines: boolean;
  disabled: boolean;
  onBuiltin: (name: BuiltinDataset) => void;
  onFile: (file: File) => void;
  onSkipBadLines: (v: boolean) => void;
}

const ACCEPT = '.txt,.jsonl,.csv,text/plain,text/csv,application/jsonl';

export function DatasetPanel(p: DatasetPanelProps) {
  const [dragging, setDragging] = useState(false);
  const choice = p.dataset.kind === 'builtin' ? p.dataset.name : 'file';
  return (
    <section className="panel" aria-labelledby="dataset-title">
      <h2 id="dataset-title">2 · Dataset</h2>
      <div
        className={`dropzone${dragging ? ' dragging' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          const f = e.dataTransfer.files[0];
          if (f && !p.disabled) p.onFile(f);
        }}
      >
        <label className="button upload">
          Upload dataset
          <input
            type="file"
            accept={ACCEPT}
            disabled={p.disabled}
            className="sr-only"
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) p.onFile(f);
              e.target.value = '';
            }}
          />
        </label>
        <span className="hint">
          or drop a .txt / .jsonl / .csv file here{' '}
          <span className="dataset-limit">(up to {MAX_DATASET_SIZE_TEXT})</span>
        </span>
      </div>
      <div className="field">
        <label htmlFor="builtin-dataset">Built-in dataset</label>
        <select
          id="builtin-dataset"
          value={choice}
          disabled={p.disabled}
          onChange={(e) => e.target.value !== 'file' && p.onBuiltin(e.target.value as BuiltinDataset)}
        >
          {BUILTIN_DATASETS.map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
          {p.dataset.kind === 'file' && <option value="file">Your file: {p.dataset.name}</option>}
        </select>
      </div>
      <label className="check">
        <input
          type="checkbox"
          checked={p.skipBadLines}
          disabled={p.disabled}
          onChange={(e) => p.onSkipBadLines(e.target.checked)}
        />
        Skip bad lines
      </label>
      <DatasetStatus state={p.state} dataset={p.dataset} />
    </section>
  );
}

function DatasetStatus({ state, dataset }: { state: DatasetState; dataset: Settings['dataset'] }) {
  switch (state.status) {
    case 'empty':
      return dataset.kind === 'file' ? (
        <p className="notice" role="status">
          This link used your file “{dataset.name}”: files never leave your tab, so upload it again.
        </p>
      ) : null;
    case 'parsing':
      return (
        <>
          <p className="hint" role="status">
            Reading {state.name}
            {state.progress && ` with ${tokenizerText(state.progress.tokenizer)}`}…
          </p>
          {state.progress && <ParseProgressBar progress={state.progress} />}
        </>
      );
    case 'invalid':
      return (
        <div className="dataset-error" role="alert" aria-label="Dataset error">
          <strong>This file cannot be used.</strong> {locatedErrorText(state.error)}
          <p className="hint">Fix the line, or tick “Skip bad lines” to train on the lines that parse.</p>
        </div>
      );
    case 'failed':
      return (
        <div className="dataset-error" role="alert" aria-label="Dataset error">
          Could not read {state.name}: {state.message}
        </div>
      );
    case 'ready':
      return <Preview preview={state.preview} />;
  }
}

const tokenizerText = (t: DatasetTokenizer | undefined): string =>
  t?.kind === 'tokenizer.json' ? `${t.model}’s tokenizer.json` : 'UTF-8 bytes';

/** A long tokenization (a model's tokenizer.json on a large file) as it goes; outside the live region. */
function ParseProgressBar({ progress }: { progress: ParseProgress }) {
  const pct = percentText(progress.fraction);
  return (
    <div className="progress-row dataset-progress">
      <ProgressBar label="Reading the dataset" percent={Math.floor(progress.fraction * 100)} text={pct} />
      <span className="rates">{progress.phase === 'reading' ? 'checking the file' : `${pct} tokenized`}</span>
    </div>
  );
}

function Preview({ preview: d }: { preview: DatasetPreview }) {
  return (
    <div className="preview" aria-label="Dataset preview">
      <p className="counts">
        <strong>{d.name}</strong> · {d.format} · {d.exampleCount.toLocaleString()}{' '}
        {d.exampleCount === 1 ? 'example' : 'examples'} · {formatBytes(d.fileBytes)} ·{' '}
        {d.trainExamples.toLocaleString()} train / {d.valExamples.toLocaleString()} validation ·{' '}
        <span aria-label="Token count">
          {d.tokens.toLocaleString()} tokens ({tokenizerText(d.tokenizer)})
        </span>
      </p>
      {(d.skippedLines > 0 || (d.warnings?.length ?? 0) > 0) && (
        <div className="notice" role="status" aria-label="Dataset warnings">
          {d.skippedLines > 0 && (
            <p>
              Skipped {d.skippedLines} bad {d.skippedLines === 1 ? 'line' : 'lines'}.
            </p>
          )}
          {d.warnings && d.warnings.length > 0 && (
            <ul className="dataset-warnings">
              {d.warnings.map((w, i) => (
                <li key={i}>{w}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      <ol className="examples">
        {d.examples.map((ex, i) => (
          <li key={i}>
            {'text' in ex ? (
              ex.text
            ) : (
              <>
                <span className="prompt">{ex.prompt}</span>
                <span className="arrow"> → </span>
                <span>{ex.completion}</span>
              </>
            )}
          </li>
        ))}
      </ol>
    </div>
  );
}
