#!/usr/bin/env bash
# Runs a command with WebGPU usable from Node: on a machine without a GPU driver, Vulkan is pointed at
# Chromium's SwiftShader (a CPU implementation). An explicit VK_ICD_FILENAMES is kept.
set -euo pipefail
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
  if ! ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json >/dev/null 2>&1 \
     && [ -f /usr/lib/chromium/vk_swiftshader_icd.json ]; then
    export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
  fi
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
exec "$@"
