export function NoWebGpu({ reason }: { reason: string }) {
  return (
    <section className="panel no-webgpu" aria-labelledby="no-webgpu-title">
      <h2 id="no-webgpu-title">This browser cannot train here: WebGPU is not available</h2>
      <p>
        LoRA Lab trains on your own GPU through WebGPU, inside this tab. {reason && <span>({reason})</span>}
      </p>
      <p>Browsers with WebGPU on by default:</p>
      <ul>
        <li>Chrome and Edge 113 or newer on Windows, macOS and ChromeOS</li>
        <li>Chrome 121 or newer on Android (Android 12+, recent Qualcomm and ARM GPUs)</li>
        <li>Safari 26 or newer on macOS, iOS and iPadOS</li>
        <li>Firefox 141 or newer on Windows</li>
      </ul>
      <p>
        On Linux, Chrome needs the <code>chrome://flags/#enable-unsafe-webgpu</code> flag. The page must be
        served over https or from localhost. Past sweeps in History below can still be opened.
      </p>
    </section>
  );
}
