// The one error type of dataset parsing: it names the file, the line (1-based) where known, and the reason.

export class DatasetError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${reason}`);
    this.name = 'DatasetError';
  }
}
