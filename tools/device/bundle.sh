#!/usr/bin/env bash
# Bundles what tools/device/*.sh runs on the GPU machine into .device/ (webgpu left external).
set -euo pipefail
cd "$(dirname "$0")/../.."
node tools/bundle.mjs packages/qwen3/bench/generate.bench.ts .device/bench
node tools/bundle.mjs tools/synth-checkpoint.ts .device/synth
node tools/bundle.mjs apps/parity/src/main.ts .device/parity
node tools/bundle.mjs apps/generate/src/main.ts .device/generate
node tools/bundle.mjs tools/device/dispatch-floor.ts .device/dispatch-floor
ls -la .device/*/*.mjs
