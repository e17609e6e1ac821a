// Runs the `lora-lab` command line in-process with stdout/stderr captured (CLI tests only).
import { vi } from 'vitest';
import { main } from '../cli/main';

/** `lora-lab <argv>`: its exit code, its stdout, and its stderr writes one by one. */
export async function runCli(...argv: string[]): Promise<{ code: number; out: string; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  try {
    const code = await main(argv);
    return { code, out: out.join(''), err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
