// The model concern of the page: the model opened from files in this tab (read here, loaded in the
// Worker), the fallback when settings name one that is not open, and the selected model's card with the
// plan of a sweep of the current settings (asked of the Worker, debounced).
import { useEffect, useRef, useState, type Dispatch } from 'react';
import { isOpenedModel, modelName, type ModelCard, type ModelId } from '../train/messages';
import type { OpenState } from './components/ModelPanel';
import type { PlanState } from './components/ModelCard';
import type { EngineClient } from './engine-client';
import { fromDrop, fromInput, readModelFiles, type PickedModel } from './read-model-files';
import { DEFAULT_SETTINGS, toSweepConfig, type Settings, type SettingsAction } from './state/settings';

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The model settings fall back to when they name an opened model whose files are not open. */
const FALLBACK_MODEL = DEFAULT_SETTINGS.model;

/** Wait this long after the last settings change before planning (typing a number is several changes). */
const PLAN_DEBOUNCE_MS = 300;

export function useModel(
  client: EngineClient | null,
  settings: Settings,
  dispatchSettings: Dispatch<SettingsAction>,
) {
  const [opened, setOpened] = useState<ModelCard | null>(null);
  const [open, setOpen] = useState<OpenState>({ kind: 'idle' });
  const [notice, setNotice] = useState<string | null>(null);
  /** Bumped on each successful open: a re-opened model of the same name is re-read and re-planned. */
  const [openedVersion, setOpenedVersion] = useState(0);

  // Files are not stored: a link, History entry or checkpoint naming an opened model that is not open
  // now keeps the rest of its configuration on a built-in model, and says to open the files again.
  useEffect(() => {
    const m = settings.model;
    if (!isOpenedModel(m) || opened?.id === m) return;
    setNotice(
      `These settings used “${modelName(m)}”, opened from its files, which are not stored. Open the model files again to train on it; until then the sweep uses ${FALLBACK_MODEL}.`,
    );
    dispatchSettings({ type: 'set', patch: { model: FALLBACK_MODEL } });
  }, [settings.model, opened, dispatchSettings]);

  const openPicked = async (picked: Promise<PickedModel>) => {
    if (!client) return;
    try {
      const p = await picked;
      setOpen({ kind: 'reading', what: p.folder ?? `${p.files.length} files` });
      const files = await readModelFiles(p);
      const m = await client.request(
        { type: 'openModel', files, ...(p.folder ? { folder: p.folder } : {}) },
        files.map((f) => f.bytes),
      );
      if (m.type !== 'modelOpened') throw new Error('unexpected answer from the engine');
      setOpened(m.card);
      setOpenedVersion((v) => v + 1);
      setOpen({ kind: 'idle' });
      setNotice(null);
      dispatchSettings({ type: 'set', patch: { model: m.card.id } });
    } catch (e) {
      setOpen({ kind: 'error', message: errorText(e) });
    }
  };

  return {
    opened,
    openedVersion,
    open,
    notice,
    onFiles: (list: FileList) => void openPicked(Promise.resolve(fromInput(list))),
    // fromDrop takes the entries synchronously, inside the drop event.
    onDrop: (dt: DataTransfer) => void openPicked(fromDrop(dt)),
  };
}

/** The selected model's card and the plan of a sweep of `settings` on it, on this device. */
export function usePlan(
  client: EngineClient | null,
  ready: boolean,
  settings: Settings,
  settingsValid: boolean,
  opened: ModelCard | null,
  openedVersion: number,
): { card: ModelCard | null; plan: PlanState } {
  const [answer, setAnswer] = useState<{ key: string; card: ModelCard | null; plan: PlanState } | null>(null);
  const latest = useRef(0);
  const model: ModelId = settings.model;
  const usable = !isOpenedModel(model) || opened?.id === model;
  const config = settingsValid ? toSweepConfig(settings) : null;
  const key = `${model}|${openedVersion}|${config ? JSON.stringify(config) : 'invalid'}`;

  useEffect(() => {
    if (!client || !ready || !usable) return;
    const id = ++latest.current;
    const timer = setTimeout(() => {
      const sweep = config ?? toSweepConfig({ ...settings, steps: 1 });
      client
        .request({ type: 'planSweep', model, sweep })
        .then((m) => {
          if (id !== latest.current || m.type !== 'sweepPlan') return;
          let plan: PlanState;
          if (!config) plan = { kind: 'settings' };
          else if (m.plan) plan = { kind: 'ready', plan: m.plan };
          else plan = { kind: 'error', message: m.error ?? 'unknown' };
          setAnswer({ key, card: m.card, plan });
        })
        .catch((e) => {
          if (id === latest.current)
            setAnswer({ key, card: null, plan: { kind: 'error', message: errorText(e) } });
        });
    }, PLAN_DEBOUNCE_MS);
    return () => clearTimeout(timer);
    // `key` stands for the model and the configuration (settings change identity on every edit).
  }, [client, ready, usable, key]);

  const openedCard = opened?.id === model ? opened : null;
  const sameModel = answer?.card?.id === model;
  const card = openedCard ?? (sameModel ? answer.card : null);
  let plan: PlanState = { kind: ready ? 'waiting' : 'none' };
  if (answer?.key === key) plan = answer.plan;
  else if (!settingsValid) plan = { kind: 'settings' };
  return { card, plan };
}
