// A small RFC 4180 CSV reader: quoted fields with "" escapes, commas and line breaks inside quotes,
// CRLF or LF (or a lone CR) between records. Stricter than spreadsheets about stray quotes so that a
// malformed file fails loudly with its line number instead of silently shifting columns.
import { BadLines, DatasetError } from './errors';

export interface CsvRow {
  /** 1-based physical line on which the record starts. */
  line: number;
  fields: string[];
}

export interface CsvRecord extends CsvRow {
  /** 1-based physical line on which the record ends (> line when a quoted field holds line breaks). */
  lastLine: number;
}

/** Parse CSV text into records; blank lines (no characters at all) are skipped. Throws DatasetError. */
export function parseCsv(text: string, name = 'csv'): CsvRow[] {
  return readCsvRecords(text, new BadLines(name, false)).map(({ line, fields }) => ({ line, fields }));
}

/**
 * Parse CSV text into records. A record with misplaced quotes is reported to `bad` (which throws unless the
 * user chose to skip bad lines; then the reader resumes at the next line break). An unclosed quote is
 * always an error: the rest of the file would be one field, and no line after it can be trusted.
 */
export function readCsvRecords(text: string, bad: BadLines): CsvRecord[] {
  const rows: CsvRecord[] = [];
  const n = text.length;
  let fields: string[] = [];
  let line = 1;
  let rowLine = 1;
  let i = 0;
  const endRecord = (blank: boolean) => {
    if (!blank) rows.push({ line: rowLine, fields, lastLine: line });
    fields = [];
  };
  /** Report the record, then drop what is left of it up to and including the next line break. */
  const skipRecord = (reason: string) => {
    // The header names every column: skipping it would make the first data row the header.
    if (rows.length === 0) throw new DatasetError(bad.file, rowLine, `the header row: ${reason}`);
    bad.report(rowLine, reason);
    while (i < n && text[i] !== '\n' && text[i] !== '\r') i++;
    if (i < n) i += text[i] === '\r' && text[i + 1] === '\n' ? 2 : 1;
    fields = [];
    line++;
    rowLine = line;
  };
  while (i <= n) {
    if (i === n) {
      // After a trailing comma the record still has one (empty) last field.
      if (fields.length > 0) {
        fields.push('');
        endRecord(false);
      }
      break;
    }
    let value: string;
    const quoted = text[i] === '"';
    if (quoted) {
      const startLine = line;
      value = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) {
          throw new DatasetError(
            bad.file,
            startLine,
            'a quoted field is never closed (it runs to the end of the file)',
          );
        }
        const chunk = text.slice(i, q);
        line += countLineBreaks(chunk);
        value += chunk;
        if (text[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
        const at = line === rowLine ? '' : ` (on line ${line})`;
        skipRecord(`unexpected character ${JSON.stringify(text[i])} after a closing quote${at}`);
        continue;
      }
    } else {
      let j = i;
      while (j < n && text[j] !== ',' && text[j] !== '\n' && text[j] !== '\r' && text[j] !== '"') j++;
      if (text[j] === '"') {
        i = j;
        skipRecord('a quote inside an unquoted field (quote the whole field and double inner quotes)');
        continue;
      }
      value = text.slice(i, j);
      i = j;
    }
    fields.push(value);
    if (i === n) {
      endRecord(isBlank(fields, quoted));
      break;
    }
    if (text[i] === ',') {
      i++;
      continue;
    }
    i += text[i] === '\r' && text[i + 1] === '\n' ? 2 : 1;
    endRecord(isBlank(fields, quoted));
    line++;
    rowLine = line;
  }
  return rows;
}

function isBlank(fields: string[], lastQuoted: boolean): boolean {
  return fields.length === 1 && fields[0] === '' && !lastQuoted;
}

/** Line breaks as the parser counts them: CRLF, LF or a lone CR each count once. */
function countLineBreaks(s: string): number {
  let k = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && s.charCodeAt(i + 1) !== 0x0a)) k++;
  }
  return k;
}
