// Learning-rate range: min, max and number of log-spaced points, and the exact list (editable).
import { useEffect, useId, useState } from 'react';
import { formatLr } from '../charts/formatLr';
import type { SettingsErrors } from '../state/settings';
import { NumberField } from './Field';

export interface LrRangeFieldProps {
  lrMin: number;
  lrMax: number;
  lrCount: number;
  lrs: number[];
  errors: SettingsErrors;
  disabled: boolean;
  onRange: (r: { lrMin?: number; lrMax?: number; lrCount?: number }) => void;
  onList: (lrs: number[]) => void;
}

const listText = (lrs: number[]) => lrs.map(formatLr).join(', ');

export function parseLrList(text: string): number[] {
  return text
    .split(/[\s,;]+/)
    .filter((t) => t !== '')
    .map(Number);
}

export function LrRangeField(p: LrRangeFieldProps) {
  const id = useId();
  const [text, setText] = useState(listText(p.lrs));
  useEffect(() => {
    setText((t) => (sameList(parseLrList(t), p.lrs) ? t : listText(p.lrs)));
  }, [p.lrs]);
  return (
    <fieldset className="lr-range">
      <legend>Learning rates</legend>
      <div className="row">
        <NumberField
          label="From"
          value={p.lrMin}
          error={p.errors.lrMin}
          disabled={p.disabled}
          onChange={(v) => p.onRange({ lrMin: v })}
        />
        <NumberField
          label="To"
          value={p.lrMax}
          error={p.errors.lrMax}
          disabled={p.disabled}
          onChange={(v) => p.onRange({ lrMax: v })}
        />
        <NumberField
          label="Points (log)"
          value={p.lrCount}
          error={p.errors.lrCount}
          disabled={p.disabled}
          onChange={(v) => p.onRange({ lrCount: v })}
        />
      </div>
      <div className="field field-wide">
        <label htmlFor={id}>Exact values</label>
        <input
          id={id}
          type="text"
          value={text}
          disabled={p.disabled}
          aria-invalid={p.errors.lrs ? true : undefined}
          aria-describedby={p.errors.lrs ? `${id}-err` : undefined}
          onChange={(e) => {
            setText(e.target.value);
            p.onList(parseLrList(e.target.value));
          }}
        />
        {p.errors.lrs && (
          <span id={`${id}-err`} role="alert" className="field-error">
            {p.errors.lrs}
          </span>
        )}
      </div>
    </fieldset>
  );
}

function sameList(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i] || (Number.isNaN(v) && Number.isNaN(b[i])));
}
