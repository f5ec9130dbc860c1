#!/usr/bin/env bash
# Installs Mesa's lavapipe (software Vulkan) so that Dawn finds a WebGPU adapter on a machine without a GPU.
# Idempotent: does nothing when a lavapipe ICD is already installed. Needs root or sudo.
#   Debian 12 (bookworm): Mesa 22 is too old for Dawn ("shaderUniform*ArrayDynamicIndexing required"), so Mesa
#   comes from the bookworm-backports suite, added to the machine's existing Debian apt source.
#   Newer Debian/Ubuntu: their own mesa-vulkan-drivers.
set -euo pipefail

say() { echo "setup-software-vulkan: $*"; }

if ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  say "lavapipe is already installed ($(ls /usr/share/vulkan/icd.d/lvp_icd*.json | head -n1)); nothing to do"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { say "needs root (or sudo) to install packages" >&2; exit 1; }
  SUDO="sudo"
fi
command -v apt-get >/dev/null || { say "only apt-based systems are supported; install Mesa's lavapipe (Vulkan) by hand" >&2; exit 1; }

. /etc/os-release
export DEBIAN_FRONTEND=noninteractive
if [[ "${ID:-}" == "debian" && "${VERSION_CODENAME:-}" == "bookworm" ]]; then
  # Reuse the URI of the machine's own Debian source (a mirror or a snapshot may be configured there).
  uri=$( { grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list 2>/dev/null || true; } \
        | sed -E 's/\[[^]]*\]//' | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
  uri=${uri:-http://deb.debian.org/debian}
  list=/etc/apt/sources.list.d/bookworm-backports.list
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    say "adding bookworm-backports ($uri) to $list"
    echo "deb $uri bookworm-backports main" | $SUDO tee "$list" >/dev/null
  fi
  say "installing mesa-vulkan-drivers and libvulkan1 from bookworm-backports"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers libvulkan1
else
  say "installing mesa-vulkan-drivers and libvulkan1 from ${PRETTY_NAME:-this distribution}"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q mesa-vulkan-drivers libvulkan1
fi
say "done: $(ls /usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null | head -n1)"
