// The `lora-lab` command line. Commands are added by the training engine (train, sweep, generate, export).
import { Gpu } from '../gpu/context';

const HELP = `lora-lab — LoRA fine-tuning with plain and Riemannian-preconditioned optimizers, on WebGPU

usage: lora-lab <command> [flags]

commands:
  info      print the WebGPU adapter this machine offers
  help      this text
`;

export async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return command ? 0 : 2;
  }
  if (command === 'info') {
    const gpu = await Gpu.create();
    process.stdout.write(JSON.stringify(gpu.info, null, 2) + '\n');
    gpu.destroy();
    return 0;
  }
  process.stderr.write(`lora-lab: unknown command '${command}' (try lora-lab --help)\n`);
  return 2;
}
