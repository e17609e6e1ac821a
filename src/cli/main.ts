// The `lora-lab` command line over the same engine as the page (Node + Dawn).
import { helpText, UsageError } from './args';
import { SWEEP_FLAGS, TRAIN_FLAGS, trainCommand } from './train';
import { EXPORT_FLAGS, exportCommand, GENERATE_FLAGS, generateCommand } from './generate';

const HELP = `lora-lab — LoRA fine-tuning of GPT-2 models (lab-gpt, or your own Hugging Face checkpoint) with plain and
Riemannian-preconditioned AdamW/SGD, on WebGPU

usage: lora-lab <command> [flags]       (lora-lab <command> --help for its flags)

commands:
  train      train one run (one optimizer, one learning rate)
  sweep      train a grid (optimizers × learning rates × hyper-parameter lists) in lockstep; writes JSON + CSV
  generate   sample text from the base model, or from base + adapter (onnxruntime-web)
  export     --merged: write the base model with an adapter merged into its weights (.onnx or .safetensors)
  info       print the WebGPU adapter this machine offers
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
        process.stderr.write(HELP);
        return 2;
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        return 0;
      case 'train':
      case 'sweep': {
        const code = await trainCommand(command, rest);
        if (code === -1) {
          process.stdout.write(
            `usage: lora-lab ${command} [flags]\n\n${helpText(command === 'train' ? TRAIN_FLAGS : SWEEP_FLAGS)}`,
          );
          return 0;
        }
        return code;
      }
      case 'generate':
      case 'export': {
        const code = command === 'generate' ? await generateCommand(rest) : await exportCommand(rest);
        if (code === -1) {
          process.stdout.write(
            `usage: lora-lab ${command} [flags]\n\n${helpText(command === 'generate' ? GENERATE_FLAGS : EXPORT_FLAGS)}`,
          );
          return 0;
        }
        return code;
      }
      case 'info': {
        const { Gpu } = await import('../gpu/context');
        const gpu = await Gpu.create();
        process.stdout.write(JSON.stringify(gpu.info, null, 2) + '\n');
        gpu.destroy();
        return 0;
      }
      default:
        throw new UsageError(`unknown command '${command}' (try lora-lab --help)`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`lora-lab: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`lora-lab: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
