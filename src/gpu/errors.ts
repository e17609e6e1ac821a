/** A GPU failure, naming the kernel (or step) it happened in when known. */
export class GpuError extends Error {
  constructor(
    message: string,
    readonly kernel?: string,
    readonly kind:
      'validation' | 'out-of-memory' | 'internal' | 'device-lost' | 'unavailable' = 'unavailable',
  ) {
    super(kernel ? `[${kernel}] ${message}` : message);
    this.name = 'GpuError';
  }
}
