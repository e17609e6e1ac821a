// A PageSession driven as the Worker drives it, on lab-gpt-tiny read from public/ (page engine tests only).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Gpu } from '../gpu/context';
import type { FromEngine, ToEngine } from '../train/messages';
import { PageSession } from '../train/page-session';
import { testGpu } from './gpu';

const publicDir = fileURLToPath(new URL('../../public/', import.meta.url));
export const fetchAsset = async (path: string) => new Uint8Array(await readFile(publicDir + path));

export type Of<T extends FromEngine['type']> = Extract<FromEngine, { type: T }>;

/** A session whose posted messages are recorded; its clock advances 300 ms a reading, so every step reports. */
export function pageSession(gpu: () => Promise<Gpu> = testGpu) {
  const got: FromEngine[] = [];
  const listeners: ((m: FromEngine) => void)[] = [];
  let t = 0;
  const s = new PageSession({
    gpu,
    fetchAsset,
    post: (m) => {
      got.push(m);
      for (const l of listeners) l(m);
    },
    now: () => (t += 300),
  });
  const of = <T extends FromEngine['type']>(type: T) => got.filter((m): m is Of<T> => m.type === type);
  const send = (m: ToEngine) => s.handle(m);
  /** Resolves with the first message of `type` (already posted or to come). */
  const next = <T extends FromEngine['type']>(type: T): Promise<Of<T>> =>
    new Promise((resolve) => {
      const seen = of(type)[0];
      if (seen) return resolve(seen);
      listeners.push((m) => m.type === type && resolve(m as Of<T>));
    });
  return { s, got, of, send, next, listeners };
}
