// Flag parsing for the `lora-lab` command line: `--name value` or `--name=value`; bad input is a
// UsageError (one clear line, exit code 2).

export class UsageError extends Error {}

export interface FlagSpec {
  name: string;
  value?: string; // placeholder shown in --help; absent for boolean flags
  help: string;
  default?: string;
}

export type ParsedFlags = Map<string, string | true>;

export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: ParsedFlags = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    if (out.has(name)) throw new UsageError(`--${name} given twice`);
    if (!spec.value) {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      out.set(name, true);
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || (value.startsWith('--') && value.length > 2))
        throw new UsageError(`--${name} needs a value (${spec.value})`);
      i++;
    }
    out.set(name, value);
  }
  return out;
}

export function str(f: ParsedFlags, name: string, fallback?: string): string | undefined {
  const v = f.get(name);
  return typeof v === 'string' ? v : fallback;
}

export function num(
  f: ParsedFlags,
  name: string,
  fallback: number,
  check: (v: number) => boolean = Number.isFinite,
  what = 'a number',
): number {
  const v = f.get(name);
  if (v === undefined) return fallback;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n) || !check(n))
    throw new UsageError(`--${name} must be ${what} (got '${String(v)}')`);
  return n;
}

export const isPosInt = (v: number) => Number.isInteger(v) && v > 0;
export const isNonNegInt = (v: number) => Number.isInteger(v) && v >= 0;
export const isPositive = (v: number) => v > 0;

/** A comma list of numbers that each pass `check` (default: positive); undefined when the flag is absent. */
export function numList(
  f: ParsedFlags,
  name: string,
  check: (v: number) => boolean = isPositive,
  what = 'positive numbers',
): number[] | undefined {
  const v = str(f, name);
  if (v === undefined) return undefined;
  const items = v.split(',').map((s) => s.trim());
  const nums = items.map(Number);
  if (items.some((s) => s === '') || nums.some((n) => !Number.isFinite(n) || !check(n))) {
    throw new UsageError(`--${name} must be a comma-separated list of ${what} (got '${v}')`);
  }
  return nums;
}

export function choice<T extends string>(
  f: ParsedFlags,
  name: string,
  options: readonly T[],
  fallback: T,
): T {
  const v = str(f, name);
  if (v === undefined) return fallback;
  if (!options.includes(v as T))
    throw new UsageError(`--${name} must be one of ${options.join(', ')} (got '${v}')`);
  return v as T;
}

export function helpText(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => [
    `  --${s.name}${s.value ? ` ${s.value}` : ''}`,
    s.help + (s.default !== undefined ? ` (default: ${s.default})` : ''),
  ]);
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  return rows.map(([a, b]) => a.padEnd(w) + b).join('\n') + '\n';
}
