// The `lora-lab` CLI as a bundle entry (bin/lora-lab.mjs runs the TypeScript through tsx instead).
import { main } from '../../src/cli/main';

process.exitCode = await main(process.argv.slice(2));
