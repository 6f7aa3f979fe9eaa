#!/usr/bin/env bash
# Runs the whole test suite. Installs what the tests need first; safe to run on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# One shared build directory outside the clone, so a fresh clone on the same machine reuses builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}"

if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install cargo-nextest --locked
fi

cargo nextest run --workspace --no-fail-fast "$@"
