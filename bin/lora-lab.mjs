#!/usr/bin/env node
// The `lora-lab` command: the engine's CLI (src/cli/main.ts) on Node + Dawn.
import { register } from 'node:module';
import { existsSync } from 'node:fs';
import { register as registerTsx } from 'tsx/esm/api';

// Without a GPU driver, run on Chromium's SwiftShader (CPU) Vulkan when it is installed.
if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES) {
  const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
  const nvidia = ['/usr/share/vulkan/icd.d/nvidia_icd.json', '/etc/vulkan/icd.d/nvidia_icd.json'];
  if (!nvidia.some(existsSync) && existsSync(swiftshader)) process.env.VK_ICD_FILENAMES = swiftshader;
}
register('./raw-hooks.mjs', import.meta.url);
registerTsx();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
