// The one error type of dataset parsing: it names the file, the line (1-based) where known, and the reason.

export class DatasetError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    // "file: line N: reason", the form the parsers' messages have always had (and their tests check).
    super(`${file}: ${line !== undefined ? `line ${line}: ` : ''}${reason}`);
    this.name = 'DatasetError';
  }
}

/**
 * Where a parser reports a bad line. Strict (the default) throws a DatasetError at the first one; with
 * skipping chosen by the user, bad lines are counted and the first is kept for the summary, so a partly
 * bad file still loads but never silently.
 */
export class BadLines {
  count = 0;
  first: { line: number; reason: string } | undefined;

  constructor(
    readonly file: string,
    readonly skip: boolean,
  ) {}

  report(line: number, reason: string): void {
    if (!this.skip) throw new DatasetError(this.file, line, reason);
    this.count++;
    // Parsers may report out of order (a csv reader's quote errors before row checks): keep the earliest.
    if (this.first === undefined || line < this.first.line) this.first = { line, reason };
  }

  /** One warning line for the user, or undefined when nothing was skipped. */
  summary(): string | undefined {
    if (this.count === 0 || !this.first) return undefined;
    const s = this.count === 1 ? '' : 's';
    return `${this.file}: skipped ${this.count} bad line${s} (first: line ${this.first.line}: ${this.first.reason})`;
  }
}
