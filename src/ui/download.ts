// Downloads through object URLs and <a download>: nothing leaves the tab. The saving itself is the
// charts' helper (charts are presentational and import nothing from src/ui, so it lives there).
import { downloadBlob } from './charts/chartToPng';

export { downloadBlob };

export function downloadBytes(bytes: Uint8Array, fileName: string, mime: string): void {
  downloadBlob(new Blob([bytes as BlobPart], { type: mime }), fileName);
}

export function downloadText(text: string, fileName: string, mime: string): void {
  downloadBlob(new Blob([text], { type: mime }), fileName);
}
