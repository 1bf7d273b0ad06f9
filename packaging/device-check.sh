#!/bin/sh
# A GPU check on a machine with no registry and no Node.js, from the folder packaging/device-carry.sh
# made: `bench env --backend webgpu`, a smoke run and `bench perf` on WebGPU (Dawn); prints one
# summary line (and says so in one line when the machine offers no GPU adapter to Vulkan / Dawn).
#
#   sh device-check.sh          (exit 0: measured; 2: no GPU adapter; 1: a step failed)
#
# DEVICE_CHECK_SOFTWARE=1 goes on with a software adapter (to try the script on a machine without a
# GPU); DEVICE_CHECK_PERF="CONFIG BATCH" picks the perf step (default "vit-s-224 64").
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
NODE="$HERE/node"
BENCH="$HERE/sslbench/bench.mjs"
TMP=$(mktemp -d)
if [ ! -x "$NODE" ]; then
  command -v xz >/dev/null 2>&1 || { echo "device-check: no xz on this machine to unpack node.xz"; exit 1; }
  xz -dc "$HERE/node.xz" > "$NODE" && chmod +x "$NODE" || { echo "device-check: cannot unpack node.xz"; exit 1; }
fi
env_out=$(cd "$TMP" && "$NODE" "$BENCH" env --backend webgpu 2>&1)
adapter=$(printf '%s\n' "$env_out" | sed -n 's/^adapter: *//p' | head -1)
gpu=$(printf '%s\n' "$env_out" | sed -n 's/^gpu: *//p' | head -1)
case "$gpu" in
  yes*) ;;
  *) [ "${DEVICE_CHECK_SOFTWARE:-}" = 1 ] && [ -n "$adapter" ] && gpu=software ;;
esac
case "$gpu" in
  yes* | software) ;;
  *)
    icds=$(ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null | tr '\n' ' ')
    echo "device-check: no GPU adapter for WebGPU (Dawn found: ${adapter:-none}); Vulkan drivers here: ${icds:-none}; nvidia-smi: $(command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>&1 | head -1 || echo absent)"
    exit 2
    ;;
esac
t0=$(date +%s)
smoke=$(cd "$TMP" && "$NODE" "$BENCH" run smoke --preset smoke --backend webgpu --quiet --results res --runs runs 2>&1) ||
  { echo "device-check: $adapter: the smoke run failed: $(printf '%s\n' "$smoke" | tail -1)"; exit 1; }
t1=$(date +%s)
row=$(sed -n 's/^| MoCo v3 *| cell *|\(.*\)$/\1/p' "$TMP/res/smoke-smoke.md" | head -1 | tr -s ' ')
set -- ${DEVICE_CHECK_PERF:-vit-s-224 64}
perf=$(cd "$TMP" && "$NODE" "$BENCH" perf --config "$1" --backend webgpu --batch "$2" --iters 3 2>&1) ||
  { echo "device-check: $adapter: smoke ok in $((t1 - t0)) s; bench perf failed: $(printf '%s\n' "$perf" | tail -1)"; exit 1; }
step=$(printf '%s\n' "$perf" | sed -n 's/^ *train step *\([0-9.]*\) images\/s.*/\1/p' | head -1)
mem=$(printf '%s\n' "$perf" | sed -n 's/^ *peak tensor memory *\([0-9]*\) MiB.*/\1/p' | head -1)
echo "device-check: $adapter; smoke run ok in $((t1 - t0)) s (row:${row}); $1 batch $2 on WebGPU: ${step:-?} images/s per train step, peak tensors ${mem:-?} MiB"
rm -rf "$TMP"
