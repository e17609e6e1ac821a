// A small RFC 4180 CSV reader: quoted fields with "" escapes, commas and line breaks inside quotes,
// CRLF or LF (or a lone CR) between records. Stricter than spreadsheets about stray quotes so that a
// malformed file fails loudly with its line number instead of silently shifting columns.

export interface CsvRow {
  /** 1-based physical line on which the record starts. */
  line: number;
  fields: string[];
}

/** Parse CSV text into records; blank lines (no characters at all) are skipped. */
export function parseCsv(text: string, name = 'csv'): CsvRow[] {
  const rows: CsvRow[] = [];
  const n = text.length;
  let fields: string[] = [];
  let line = 1;
  let rowLine = 1;
  let i = 0;
  for (;;) {
    if (i === n) {
      // After a trailing comma the record still has one (empty) last field.
      if (fields.length > 0) rows.push({ line: rowLine, fields: [...fields, ''] });
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
        if (q < 0) throw new Error(`${name}: line ${startLine}: a quoted field is never closed`);
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
        throw new Error(
          `${name}: line ${line}: unexpected character ${JSON.stringify(text[i])} after a closing quote`,
        );
      }
    } else {
      let j = i;
      for (; j < n; j++) {
        const c = text[j];
        if (c === ',' || c === '\n' || c === '\r') break;
        if (c === '"') {
          throw new Error(
            `${name}: line ${line}: a quote inside an unquoted field (quote the whole field and double inner quotes)`,
          );
        }
      }
      value = text.slice(i, j);
      i = j;
    }
    fields.push(value);
    if (i === n) {
      if (!isBlank(fields, quoted)) rows.push({ line: rowLine, fields });
      break;
    }
    if (text[i] === ',') {
      i++;
      continue;
    }
    i += text[i] === '\r' && text[i + 1] === '\n' ? 2 : 1;
    if (!isBlank(fields, quoted)) rows.push({ line: rowLine, fields });
    fields = [];
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
