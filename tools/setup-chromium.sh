#!/usr/bin/env bash
# Installs Debian's chromium (apt) for the browser tests (apps/web/test: playwright-core drives /usr/bin/chromium;
# no test tool ever downloads a browser). Idempotent; needs root or sudo and an apt-based system.
set -euo pipefail

say() { echo "setup-chromium: $*"; }

if [[ -x /usr/bin/chromium ]]; then
  say "chromium is already installed ($(/usr/bin/chromium --version 2>/dev/null | head -n1)); nothing to do"
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { say "needs root (or sudo) to install chromium" >&2; exit 1; }
  SUDO="sudo"
fi
command -v apt-get >/dev/null || { say "only apt-based systems are supported; install Chromium and set QWEN3_CHROMIUM=/path/to/it" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
say "installing chromium with apt"
$SUDO apt-get update -q
$SUDO apt-get install -y -q chromium
say "$(/usr/bin/chromium --version 2>/dev/null | head -n1)"
