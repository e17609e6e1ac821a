import { useState } from 'react';
import { GpuBadge, type GpuState } from './GpuBadge';

export interface HeaderProps {
  gpu: GpuState;
  secondsPerStep: number | null;
  historyCount: number;
}

export function Header({ gpu, secondsPerStep, historyCount }: HeaderProps) {
  const [copied, setCopied] = useState<string | null>(null);
  const share = async () => {
    try {
      await navigator.clipboard.writeText(window.location.href);
      setCopied('Link copied');
    } catch {
      setCopied('Copy the address bar: it holds every setting');
    }
    setTimeout(() => setCopied(null), 3000);
  };
  return (
    <header className="top">
      <h1>LoRA Lab</h1>
      <GpuBadge gpu={gpu} secondsPerStep={secondsPerStep} />
      <p className="tagline">
        Riemannian-preconditioned LoRA vs plain optimizers, trained on your GPU — nothing leaves this tab.
      </p>
      <nav className="top-actions">
        <a className="button" href="#history">
          History ({historyCount})
        </a>
        <button type="button" onClick={share}>
          Share link
        </button>
        <span role="status" className="copied">
          {copied}
        </span>
      </nav>
    </header>
  );
}
