#!/usr/bin/env bash
# Runs the whole test suite. Installs what the tests need first; safe to run on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# One shared build directory outside the clone, so a fresh clone on the same machine reuses builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}"

if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install cargo-nextest --locked
fi

# System packages for the Kafka client's build.
scripts/build-deps.sh

# The real mongosh for the MongoDB wire protocol's end-to-end test (serve_mongosh), from npm into
# a cache outside the clone, reused when present.
NPM_PREFIX="${SLUICE_NPM_PREFIX:-$HOME/.cache/sluice/npm}"
if command -v npm >/dev/null 2>&1 && [ ! -x "$NPM_PREFIX/node_modules/.bin/mongosh" ]; then
    npm install --no-audit --no-fund --prefix "$NPM_PREFIX" mongosh@2
fi
export SLUICE_MONGOSH="$NPM_PREFIX/node_modules/.bin/mongosh"

# The connector tests talk to a real Kafka-protocol broker and a real MongoDB-wire server, which
# this starts on free loopback ports and stops afterwards.
scripts/test-servers.sh cargo nextest run --workspace --no-fail-fast "$@"
