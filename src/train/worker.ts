// The engine's Web Worker entry: the only place in the page that touches the GPU. A thin shell around
// PageSession: assets come from our own origin, answers go back with postMessage.
import { Gpu } from '../gpu/context';
import type { ToEngine } from './messages';
import { configureOrtForPage } from './ort-page';
import { PageSession } from './page-session';

configureOrtForPage();

const scope = self as unknown as DedicatedWorkerGlobalScope;
const siteRoot = new URL(import.meta.env.BASE_URL, scope.location.origin);

async function fetchAsset(path: string): Promise<Uint8Array> {
  const url = new URL(path, siteRoot);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not load ${url.pathname} (HTTP ${res.status})`);
  return new Uint8Array(await res.arrayBuffer());
}

const session = new PageSession({
  gpu: () => Gpu.create(),
  fetchAsset,
  post: (msg, transfer) => scope.postMessage(msg, transfer ?? []),
});

scope.onmessage = (e: MessageEvent<ToEngine>) => {
  void session.handle(e.data);
};
