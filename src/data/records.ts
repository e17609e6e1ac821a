// Examples from jsonl lines and csv rows: `{"text": ...}` or `{"prompt": ..., "completion": ...}`.
//
// Every problem is reported with its line to a BadLines (strict: throw; skipping: count). Keys or columns
// this tool does not use are accepted, with one warning naming them and where they first appear, so a
// typo such as "competion" does not go unnoticed.
import { readCsvRecords } from './csv';
import { BadLines, DatasetError } from './errors';

/** One text document or one prompt/completion pair, before tokenisation. */
export type Example = { text: string } | { prompt: string; completion: string };

/** The longest jsonl line or csv record accepted, in characters (a larger one is a located error). */
export const MAX_LINE_CHARS = 4 * 1024 * 1024;
export const MAX_LINE_TEXT = '4 Mi characters';

export interface RecordContext {
  bad: BadLines;
  warnings: string[];
  /** Lines that are not valid UTF-8 text, by line number (only when bad lines are skipped). */
  badText?: ReadonlyMap<number, string>;
}

const USED_KEYS = new Set(['text', 'prompt', 'completion']);
const FIELDS = 'expected "text" or "prompt"+"completion" string fields';

/** One line per record; blank lines skipped; extra keys ignored (with a warning). */
export function parseJsonlExamples(name: string, text: string, ctx?: RecordContext): Example[] {
  const c = ctx ?? { bad: new BadLines(name, false), warnings: [] };
  const out: Example[] = [];
  const extra = new Set<string>();
  let extraFirstLine = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i];
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const textProblem = c.badText?.get(n);
    if (textProblem !== undefined) {
      c.bad.report(n, textProblem);
      continue;
    }
    if (line.trim() === '') continue;
    if (line.length > MAX_LINE_CHARS) {
      c.bad.report(
        n,
        `the line has ${line.length} characters; a JSONL line may have at most ${MAX_LINE_TEXT}`,
      );
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      c.bad.report(n, `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
      continue;
    }
    const ex = exampleFromRecord(value);
    if (typeof ex === 'string') {
      c.bad.report(n, ex);
      continue;
    }
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const used = 'text' in ex ? k === 'text' : k === 'prompt' || k === 'completion';
      if (used) continue;
      if (extra.size === 0) extraFirstLine = n;
      extra.add(k);
    }
    out.push(ex);
  }
  if (extra.size > 0) {
    c.warnings.push(
      `${name}: line ${extraFirstLine}: ignored ${listNames(extra, 'key')} (not used for training)`,
    );
  }
  return out;
}

/** The example of one JSON value, or the reason it is not one. */
function exampleFromRecord(value: unknown): Example | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `${FIELDS} in a JSON object, got ${kindOf(value)}`;
  }
  const o = value as Record<string, unknown>;
  const own = (k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);
  const [text, prompt, completion] = [own('text'), own('prompt'), own('completion')];
  const hasText = typeof text === 'string';
  const hasPair = typeof prompt === 'string' && typeof completion === 'string';
  if (hasText && hasPair) return 'has both "text" and "prompt"+"completion"; keep one of them';
  if (hasText) return { text };
  if (hasPair) return { prompt, completion };
  const wrong = (['text', 'prompt', 'completion'] as const).find(
    (k) => own(k) !== undefined && typeof own(k) !== 'string',
  );
  if (wrong) return `${FIELDS} ("${wrong}" is ${kindOf(own(wrong))}, not a string)`;
  if (prompt !== undefined) return `${FIELDS} ("prompt" has no "completion")`;
  if (completion !== undefined) return `${FIELDS} ("completion" has no "prompt")`;
  const keys = Object.keys(o);
  return `${FIELDS} (${keys.length === 0 ? 'the object is empty' : `found ${listNames(new Set(keys), 'key')}`})`;
}

/** Header row with a `text` column, or `prompt` and `completion` columns (names trimmed, case-insensitive). */
export function parseCsvExamples(name: string, text: string, ctx?: RecordContext): Example[] {
  const c = ctx ?? { bad: new BadLines(name, false), warnings: [] };
  const rows = readCsvRecords(text, c.bad);
  if (rows.length === 0) throw new DatasetError(name, undefined, 'the dataset is empty');
  const head = rows[0];
  for (let l = head.line; l <= head.lastLine; l++) {
    const problem = c.badText?.get(l);
    // The header decides every column: a broken one cannot be skipped.
    if (problem !== undefined) throw new DatasetError(name, l, `the header row is unreadable: ${problem}`);
  }
  const header = head.fields.map((h) => h.trim().toLowerCase());
  const dup = header.find((h, i) => USED_KEYS.has(h) && header.indexOf(h) !== i);
  if (dup) throw new DatasetError(name, head.line, `the header has the column "${dup}" twice`);
  const iText = header.indexOf('text');
  const iPrompt = header.indexOf('prompt');
  const iCompletion = header.indexOf('completion');
  const hasPair = iPrompt >= 0 && iCompletion >= 0;
  if (iText >= 0 && hasPair) {
    throw new DatasetError(
      name,
      head.line,
      'the header has "text" and "prompt"+"completion" columns; keep one',
    );
  }
  if (iText < 0 && !hasPair) {
    const got = head.fields.map((f) => JSON.stringify(f)).join(', ');
    throw new DatasetError(
      name,
      head.line,
      `the header needs a "text" column or "prompt" and "completion" columns (got ${got})`,
    );
  }
  const used = iText >= 0 ? [iText] : [iPrompt, iCompletion];
  const ignored = new Set(head.fields.filter((_, i) => !used.includes(i)).map((f) => f.trim()));
  if (ignored.size > 0) {
    c.warnings.push(
      `${name}: line ${head.line}: ignored ${listNames(ignored, 'column')} (not used for training)`,
    );
  }
  const out: Example[] = [];
  for (const row of rows.slice(1)) {
    let problem: string | undefined;
    for (let l = row.line; l <= row.lastLine && problem === undefined; l++) problem = c.badText?.get(l);
    if (problem === undefined && row.fields.length !== header.length) {
      problem = `expected ${header.length} fields, got ${row.fields.length} (a field with a comma needs "quotes")`;
    }
    if (problem === undefined && row.fields.reduce((a, f) => a + f.length, 0) > MAX_LINE_CHARS) {
      problem = `the record is longer than ${MAX_LINE_TEXT}, the most a CSV record may have`;
    }
    if (problem !== undefined) {
      c.bad.report(row.line, problem);
      continue;
    }
    out.push(
      iText >= 0
        ? { text: row.fields[iText] }
        : { prompt: row.fields[iPrompt], completion: row.fields[iCompletion] },
    );
  }
  return out;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** `key "a"` / `keys "a", "b"` (at most eight named). */
function listNames(names: Set<string>, what: string): string {
  const all = [...names];
  const shown = all.slice(0, 8).map((k) => JSON.stringify(k));
  const more = all.length > 8 ? ` and ${all.length - 8} more` : '';
  return `${what}${all.length === 1 ? '' : 's'} ${shown.join(', ')}${more}`;
}
