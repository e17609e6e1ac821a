// The model section: the built-in models and the one opened from its files (button, folder, or dropped
// onto the section), why files could not be used, and the selected model's card.
import { useRef, useState } from 'react';
import { BUILTIN_MODELS, type BuiltinModel, type ModelCard, type ModelId } from '../../train/messages';
import { ModelCardView, type PlanState } from './ModelCard';

const DESCRIPTIONS: Record<BuiltinModel, string> = {
  'lab-gpt': 'lab-gpt · 4 layers × 256',
  'lab-gpt-tiny': 'lab-gpt-tiny · 1 layer × 32',
};

export type OpenState =
  { kind: 'idle' } | { kind: 'reading'; what: string } | { kind: 'error'; message: string };

export interface ModelPanelProps {
  model: ModelId;
  /** The model opened from files in this tab, if any. */
  opened: ModelCard | null;
  card: ModelCard | null;
  plan: PlanState;
  open: OpenState;
  /** A link or History entry named a model opened from files, which are not stored. */
  notice: string | null;
  disabled: boolean;
  onChange: (m: ModelId) => void;
  onFiles: (files: FileList) => void;
  onDrop: (dt: DataTransfer) => void;
}

export function ModelPanel(p: ModelPanelProps) {
  const filesInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const busy = p.open.kind === 'reading';
  return (
    <section
      className={`panel model-panel${dragging ? ' dragging' : ''}`}
      aria-labelledby="model-title"
      onDragOver={(e) => {
        if (p.disabled) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false);
      }}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        if (!p.disabled && !busy) p.onDrop(e.dataTransfer);
      }}
    >
      <h2 id="model-title">1 · Model</h2>
      <label className="sr-only" htmlFor="model-select">
        Base model
      </label>
      <select
        id="model-select"
        value={p.model}
        disabled={p.disabled}
        onChange={(e) => p.onChange(e.target.value as ModelId)}
      >
        {BUILTIN_MODELS.map((m) => (
          <option key={m} value={m}>
            {DESCRIPTIONS[m]}
          </option>
        ))}
        {p.opened && (
          <option value={p.opened.id}>
            {p.opened.name} · {p.opened.layers} {p.opened.layers === 1 ? 'layer' : 'layers'} ×{' '}
            {p.opened.width} (your files)
          </option>
        )}
      </select>
      <div className="model-open">
        <button type="button" disabled={p.disabled || busy} onClick={() => filesInput.current?.click()}>
          Open model files…
        </button>
        <button
          type="button"
          className="link"
          aria-label="Open a model folder…"
          disabled={p.disabled || busy}
          onClick={() => folderInput.current?.click()}
        >
          or a folder
        </button>
        <input
          ref={filesInput}
          type="file"
          multiple
          accept=".safetensors,.json"
          className="sr-only"
          tabIndex={-1}
          aria-hidden="true"
          data-testid="model-files-input"
          onChange={(e) => {
            if (e.target.files && e.target.files.length > 0) p.onFiles(e.target.files);
            e.target.value = '';
          }}
        />
        <input
          ref={folderInput}
          type="file"
          className="sr-only"
          tabIndex={-1}
          aria-hidden="true"
          data-testid="model-folder-input"
          {...{ webkitdirectory: '' }}
          onChange={(e) => {
            if (e.target.files && e.target.files.length > 0) p.onFiles(e.target.files);
            e.target.value = '';
          }}
        />
      </div>
      <p className="hint">
        A GPT-2-family checkpoint: model.safetensors, config.json and tokenizer.json (as on the Hugging Face
        hub), or drop its folder here.
      </p>
      {p.open.kind === 'reading' && (
        <p className="hint" role="status">
          Reading {p.open.what}…
        </p>
      )}
      {p.open.kind === 'error' && (
        <div className="dataset-error" role="alert" aria-label="Model files error">
          <strong>These files cannot be used:</strong> {p.open.message}
        </div>
      )}
      {p.notice && (
        <p className="notice" role="status" aria-label="Model notice">
          {p.notice}
        </p>
      )}
      {p.card && <ModelCardView card={p.card} plan={p.plan} />}
    </section>
  );
}
