#!/bin/sh
# Prepares what a GPU check carries to a machine with no registry and no Node.js (the `device`
# tool's carry, 64 MiB at most): DIR/sslbench (the offline bundle without sharp and its libvips,
# which a GPU check does not use: it reads no image files), DIR/node.xz (this machine's Node
# binary, xz-compressed) and DIR/device-check.sh. Prints the sizes.
#
#   sh packaging/device-carry.sh [DIR]     (default .device, git-ignored)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-$ROOT/.device}
NODE_BIN=$(command -v node)
rm -rf "$DIR"
mkdir -p "$DIR"
node "$ROOT/packaging/bundle.mjs" --out "$DIR/sslbench" >/dev/null
rm -rf "$DIR/sslbench/node_modules/@img" "$DIR/sslbench/node_modules/sharp"
xz -9e -T0 -c "$NODE_BIN" > "$DIR/node.xz"
cp "$ROOT/packaging/device-check.sh" "$DIR/device-check.sh"
total=$(du -sb "$DIR" | cut -f1)
echo "device-carry: $DIR: $(du -sh "$DIR/sslbench" | cut -f1) bundle, $(du -sh "$DIR/node.xz" | cut -f1) node $("$NODE_BIN" -v), $((total / 1048576)) MiB in all (limit 64 MiB)"
[ "$total" -le $((64 * 1048576)) ] || { echo "device-carry: over the 64 MiB carry limit" >&2; exit 1; }
