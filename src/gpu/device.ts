// One way to get a GPUDevice, in the browser (navigator.gpu) and in Node (Dawn's `webgpu` package).
import { GpuError } from './errors';

/** Optional features we ask for when the adapter has them. */
export const OPTIONAL_FEATURES: GPUFeatureName[] = ['timestamp-query', 'subgroups', 'shader-f16'];

/** Limits we raise to the adapter's maximum (never assumed; read back from the device). */
const RAISED_LIMITS = [
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
] as const;

export interface GpuInfo {
  vendor: string;
  architecture: string;
  description: string;
  /** True when the adapter is a CPU emulation (SwiftShader), so callers can scale work down. */
  isSoftware: boolean;
  features: string[];
  limits: Record<string, number>;
  runtime: 'browser' | 'node';
}

export interface AcquiredDevice {
  device: GPUDevice;
  info: GpuInfo;
}

// Dawn's instances must outlive every device they made: if the object `create()` returns is collected,
// Node dies inside ProcessEvents. Module-level (one per set of flags), so they live as long as the process.
const nodeInstances = new Map<string, GPU>();

async function nodeNavigatorGpu(dawnFlags: readonly string[]): Promise<GPU> {
  const key = dawnFlags.join(' ');
  const known = nodeInstances.get(key);
  if (known) return known;
  const moduleName = 'webgpu';
  const mod = (await import(/* @vite-ignore */ moduleName)) as {
    create: (flags: string[]) => GPU;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, mod.globals);
  const instance = mod.create([...dawnFlags]);
  nodeInstances.set(key, instance);
  return instance;
}

function browserGpu(): GPU | undefined {
  const nav = (globalThis as { navigator?: Navigator }).navigator;
  return nav && 'gpu' in nav ? nav.gpu : undefined;
}

export function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node && !browserGpu();
}

/**
 * Acquire a device with the optional features the adapter has and its maximum compute limits.
 * Throws GpuError with a message a user can act on when WebGPU is missing.
 */
export async function acquireDevice(
  powerPreference: GPUPowerPreference = 'high-performance',
  /** Node only: flags for Dawn's instance (the benchmarks turn timestamp quantization off). */
  dawnFlags: readonly string[] = [],
): Promise<AcquiredDevice> {
  const runtime = isNode() ? 'node' : 'browser';
  const gpu = runtime === 'node' ? await nodeNavigatorGpu(dawnFlags) : browserGpu();
  if (!gpu) {
    throw new GpuError(
      'WebGPU is not available in this browser. Use a recent Chrome, Edge or Firefox with WebGPU enabled, on a page served over https or localhost.',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) {
    throw new GpuError(
      runtime === 'node'
        ? 'No WebGPU adapter found. Install a Vulkan driver (Debian: libvulkan1) or point VK_ICD_FILENAMES at SwiftShader.'
        : 'WebGPU is present but no GPU adapter was found (blocked by the browser or the driver).',
    );
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'lora-lab' });
  const ai = adapter.info;
  const limits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) limits[name] = device.limits[name];
  const description = ai.description || ai.device || '';
  return {
    device,
    info: {
      vendor: ai.vendor,
      architecture: ai.architecture,
      description,
      isSoftware:
        /swiftshader/i.test(`${ai.vendor} ${ai.architecture} ${description}`) || ai.vendor === 'google',
      features: [...device.features].sort(),
      limits,
      runtime,
    },
  };
}
