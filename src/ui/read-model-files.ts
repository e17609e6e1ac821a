// A model's files as the page gets them: from the file inputs (several files, or a folder) or dropped
// (files, or a whole folder read through its directory entries). Only the files the engine reads are read;
// the others (a pytorch_model.bin, shards) go by name alone, so that the engine can say what they are
// without the page reading gigabytes.
import type { ModelFileData } from '../train/messages';

/** The files loadModelFiles (src/io/model-files.ts) reads the bytes of. */
const READ = new Set(['model.safetensors', 'config.json', 'tokenizer.json', 'tokenizer_config.json']);

export interface PickedFile {
  /** The file's name, or its path inside the chosen or dropped folder. */
  path: string;
  file: File;
}

export interface PickedModel {
  files: PickedFile[];
  /** The folder's name when a folder was chosen or dropped. */
  folder?: string;
}

const baseName = (path: string) => path.split('/').filter(Boolean).pop() ?? path;

/** Files of an input (a folder input gives webkitRelativePath "folder/name"). */
export function fromInput(list: FileList | File[]): PickedModel {
  const files = Array.from(list, (file) => ({ path: file.webkitRelativePath || file.name, file }));
  const folder = files.map((f) => f.path.split('/')).find((p) => p.length > 1)?.[0];
  return { files, ...(folder ? { folder } : {}) };
}

/**
 * What was dropped: files, or a folder (its files, its subfolders' too). Entries must be taken during the
 * drop event itself (the DataTransfer empties after it), so call this synchronously from onDrop.
 */
export function fromDrop(dt: DataTransfer): Promise<PickedModel> {
  const entries = Array.from(dt.items)
    .filter((i) => i.kind === 'file')
    .map((i) => i.webkitGetAsEntry?.())
    .filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) return Promise.resolve(fromInput(dt.files));
  return (async () => {
    const files: PickedFile[] = [];
    for (const e of entries) await walk(e, '', files);
    const dir = entries.length === 1 && entries[0].isDirectory ? entries[0].name : undefined;
    return { files, ...(dir ? { folder: dir } : {}) };
  })();
}

async function walk(entry: FileSystemEntry, prefix: string, out: PickedFile[]): Promise<void> {
  const path = prefix + entry.name;
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) =>
      (entry as FileSystemFileEntry).file(resolve, reject),
    );
    out.push({ path, file });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries answers in batches (100 in Chromium) until an empty one.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
      reader.readEntries(resolve, reject),
    );
    if (batch.length === 0) break;
    for (const child of batch) await walk(child, `${path}/`, out);
  }
}

/** The bytes the engine needs (the other files by name, with no bytes), ready to transfer. */
export async function readModelFiles(picked: PickedModel): Promise<ModelFileData[]> {
  return Promise.all(
    picked.files.map(async ({ path, file }) => ({
      name: path,
      bytes: READ.has(baseName(path).toLowerCase()) ? await file.arrayBuffer() : new ArrayBuffer(0),
    })),
  );
}
