// Finished (and stopped) sweeps, kept in IndexedDB: settings, results and adapters. A summary store
// lists them cheaply; the payload (results + adapters, Float32Arrays stored as they are) is read on open.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { AdapterData } from '../../train/messages';
import type { SweepResults } from '../../train/results';
import type { Settings } from './settings';

export interface SweepSummary {
  id: string;
  savedAt: number;
  model: string;
  dataset: string;
  steps: number;
  stopped: boolean;
  /** e.g. "AdamW 1e-3: 2.31"; the best final validation loss per optimizer. */
  runCount: number;
  best: { optimizer: string; lr: number; loss: number } | null;
  settings: Settings;
}

export interface StoredSweep {
  id: string;
  results: SweepResults;
  adapters: AdapterData[];
  stopped: boolean;
}

/** The latest checkpoint of the sweep training in this browser (one slot): a reload can resume it. */
export interface StoredCheckpoint {
  slot: 'current';
  sweepId: string;
  step: number;
  totalSteps: number;
  savedAt: number;
  settings: Settings;
  bytes: Uint8Array;
}

interface HistoryDb extends DBSchema {
  summaries: { key: string; value: SweepSummary; indexes: { savedAt: number } };
  payloads: { key: string; value: StoredSweep };
  checkpoints: { key: string; value: StoredCheckpoint };
}

const DB_NAME = 'lora-lab';

let dbPromise: Promise<IDBPDatabase<HistoryDb>> | null = null;

function db(): Promise<IDBPDatabase<HistoryDb>> {
  dbPromise ??= openDB<HistoryDb>(DB_NAME, 2, {
    upgrade(d, oldVersion) {
      if (oldVersion < 1) {
        d.createObjectStore('summaries', { keyPath: 'id' }).createIndex('savedAt', 'savedAt');
        d.createObjectStore('payloads', { keyPath: 'id' });
      }
      if (oldVersion < 2) d.createObjectStore('checkpoints', { keyPath: 'slot' });
    },
  });
  return dbPromise;
}

/** The best final validation loss of a sweep's non-diverged runs (the last training loss if none). */
export function summarize(
  id: string,
  settings: Settings,
  results: SweepResults,
  stopped: boolean,
  savedAt: number,
): SweepSummary {
  let best: SweepSummary['best'] = null;
  for (const r of results.runs) {
    if (r.divergedAtStep !== null) continue;
    const val = r.validation.length ? r.validation[r.validation.length - 1].loss : null;
    const train = [...r.losses].reverse().find((l): l is number => l !== null && Number.isFinite(l)) ?? null;
    const loss = val ?? train;
    if (loss !== null && Number.isFinite(loss) && (best === null || loss < best.loss))
      best = { optimizer: r.optimizer, lr: r.lr, loss };
  }
  return {
    id,
    savedAt,
    model: results.model.name,
    dataset: results.dataset.name,
    steps: results.steps,
    stopped,
    runCount: results.runs.length,
    best,
    settings,
  };
}

/** A message a user can act on, for a failed write (quota errors named as such). */
export function storageErrorText(err: unknown): string {
  const name = err instanceof DOMException ? err.name : err instanceof Error ? err.name : '';
  const msg = err instanceof Error ? err.message : String(err);
  if (name === 'QuotaExceededError' || /quota/i.test(msg))
    return `This browser's storage for the page is full (${msg}). Delete older sweeps from History to keep new ones.`;
  return `Could not save the sweep in this browser's storage: ${msg}`;
}

export async function saveSweep(summary: SweepSummary, payload: StoredSweep): Promise<void> {
  const d = await db();
  const tx = d.transaction(['summaries', 'payloads'], 'readwrite');
  await Promise.all([
    tx.objectStore('payloads').put(payload),
    tx.objectStore('summaries').put(summary),
    tx.done,
  ]);
}

/** Newest first. */
export async function listSweeps(): Promise<SweepSummary[]> {
  const d = await db();
  const all = await d.getAllFromIndex('summaries', 'savedAt');
  return all.reverse();
}

export async function loadSweep(id: string): Promise<StoredSweep | undefined> {
  return (await db()).get('payloads', id);
}

export async function deleteSweep(id: string): Promise<void> {
  const d = await db();
  const tx = d.transaction(['summaries', 'payloads'], 'readwrite');
  await Promise.all([tx.objectStore('summaries').delete(id), tx.objectStore('payloads').delete(id), tx.done]);
}

export async function saveCheckpoint(c: Omit<StoredCheckpoint, 'slot'>): Promise<void> {
  await (await db()).put('checkpoints', { ...c, slot: 'current' });
}

export async function loadCheckpoint(): Promise<StoredCheckpoint | undefined> {
  return (await db()).get('checkpoints', 'current');
}

export async function clearCheckpoint(): Promise<void> {
  await (await db()).delete('checkpoints', 'current');
}

/** Checkpoint interval for a sweep of `steps` steps: about 20 per sweep, none for short sweeps. */
export function checkpointEvery(steps: number): number {
  return steps >= 20 ? Math.max(5, Math.round(steps / 20)) : 0;
}
