// Prints one closing line over the vitest and Playwright JSON reports: "N passed, N failed".
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
const [unitPath, e2ePath] = process.argv.slice(2);
if (existsSync(unitPath)) {
  const u = JSON.parse(readFileSync(unitPath, 'utf8'));
  passed += u.numPassedTests;
  failed += u.numFailedTests;
  skipped += u.numPendingTests + (u.numTodoTests ?? 0);
} else failed += 1;
if (existsSync(e2ePath)) {
  const e = JSON.parse(readFileSync(e2ePath, 'utf8'));
  passed += e.stats.expected;
  failed += e.stats.unexpected + e.stats.flaky;
  skipped += e.stats.skipped;
} else failed += 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
