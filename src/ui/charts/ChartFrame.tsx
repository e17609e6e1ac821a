import { useRef, useState, type ReactNode } from 'react';
import { chartToPng, downloadBlob, fileSlug } from './chartToPng';

export interface ChartFrameProps {
  /** The chart's title; the button is named "Download <title> as PNG". */
  title: string;
  /** File name without extension (default: the title as a slug). */
  filename?: string;
  children: ReactNode;
}

/** A chart with a "Download PNG" button over its top-right corner; the PNG is made in the page. */
export function ChartFrame({ title, filename, children }: ChartFrameProps) {
  const box = useRef<HTMLDivElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const onClick = async () => {
    const figure = box.current?.querySelector<HTMLElement>('figure');
    if (!figure) return;
    setBusy(true);
    setError(null);
    try {
      downloadBlob(await chartToPng(figure), `${filename ?? fileSlug(title)}.png`);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="chart-frame" ref={box} style={{ position: 'relative' }}>
      <button
        type="button"
        className="chart-download"
        aria-label={`Download ${title} as PNG`}
        title={`Download ${title} as PNG`}
        onClick={onClick}
        disabled={busy}
        style={{
          position: 'absolute',
          top: 0,
          right: 0,
          zIndex: 1,
          font: '11px system-ui, sans-serif',
          padding: '1px 6px',
          border: '1px solid #c9ced6',
          borderRadius: 3,
          background: '#ffffff',
          color: '#2b3140',
          cursor: busy ? 'progress' : 'pointer',
        }}
      >
        PNG
      </button>
      {children}
      {error && (
        <p role="alert" style={{ color: '#c62828', fontSize: 11, margin: '2px 0 0' }}>
          {`Could not make the PNG: ${error}`}
        </p>
      )}
    </div>
  );
}
