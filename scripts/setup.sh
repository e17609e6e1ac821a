#!/usr/bin/env bash
# Makes sure what the tests need is on this machine: Debian's chromium (the browser for the end-to-end
# tests, and the SwiftShader Vulkan driver) and libvulkan1 (the loader Dawn needs in Node).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -f /usr/lib/chromium/vk_swiftshader_icd.json ] || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || missing+=(libvulkan1)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "setup: installing Debian packages: $pkgs"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
else
  echo "setup: missing Debian packages: $pkgs" >&2
  echo "setup: install them with: sudo apt-get install $pkgs" >&2
  exit 1
fi
