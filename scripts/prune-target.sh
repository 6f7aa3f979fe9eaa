#!/usr/bin/env bash
# Keeps the shared build directory from growing without end: every build of a changed test or
# binary leaves its old executable and incremental cache behind. Removes executables under
# deps/ and incremental caches not touched for two days; cargo rebuilds whatever it still needs.
set -euo pipefail
TARGET="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}"
for profile in debug release; do
    dir="$TARGET/$profile"
    [ -d "$dir" ] || continue
    find "$dir/deps" -maxdepth 1 -type f -perm -u+x -mtime +2 -delete 2>/dev/null || true
    find "$dir/incremental" -mindepth 1 -maxdepth 1 -type d -mtime +2 -exec rm -rf {} + 2>/dev/null || true
done
