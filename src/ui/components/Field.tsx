// A labelled number input with its error beside it (aria-describedby + role=alert).
import { useEffect, useId, useState } from 'react';

export interface NumberFieldProps {
  label: string;
  value: number;
  onChange: (v: number) => void;
  error?: string;
  step?: number | 'any';
  min?: number;
  max?: number;
  hint?: string;
  disabled?: boolean;
  width?: 'narrow' | 'wide';
}

/** Keeps the text the user types (e.g. "1e-") while the parsed value goes up as they type. */
export function NumberField({
  label,
  value,
  onChange,
  error,
  step = 'any',
  min,
  max,
  hint,
  disabled,
  width,
}: NumberFieldProps) {
  const id = useId();
  const [text, setText] = useState(String(value));
  useEffect(() => {
    setText((t) => (Number(t) === value && t.trim() !== '' ? t : Number.isNaN(value) ? t : String(value)));
  }, [value]);
  const errId = `${id}-err`;
  const hintId = `${id}-hint`;
  const describedBy = [error ? errId : '', hint ? hintId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${width === 'wide' ? ' field-wide' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="text"
        inputMode="decimal"
        value={text}
        step={step}
        min={min}
        max={max}
        disabled={disabled}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        onChange={(e) => {
          setText(e.target.value);
          onChange(e.target.value.trim() === '' ? NaN : Number(e.target.value));
        }}
      />
      {hint && (
        <span id={hintId} className="hint">
          {hint}
        </span>
      )}
      {error && (
        <span id={errId} role="alert" className="field-error">
          {error}
        </span>
      )}
    </div>
  );
}
