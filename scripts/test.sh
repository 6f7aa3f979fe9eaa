#!/usr/bin/env bash
# Runs the whole test suite. Installs what the tests need first; safe to run on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# One shared build directory outside the clone, so a fresh clone on the same machine reuses builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}"

if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install cargo-nextest --locked
fi

# Old executables and incremental caches out of the shared build directory.
scripts/prune-target.sh

# System packages for the Kafka client's build.
scripts/build-deps.sh

# The real mongosh for the MongoDB wire protocol's end-to-end test (serve_mongosh), from npm into
# a cache outside the clone, reused when present.
NPM_PREFIX="${SLUICE_NPM_PREFIX:-$HOME/.cache/sluice/npm}"
if command -v npm >/dev/null 2>&1 && [ ! -x "$NPM_PREFIX/node_modules/.bin/mongosh" ]; then
    npm install --no-audit --no-fund --prefix "$NPM_PREFIX" mongosh@2
fi
export SLUICE_MONGOSH="$NPM_PREFIX/node_modules/.bin/mongosh"

# The web console's browser test (serve_console): headless Chromium from Debian's `chromium`
# package, driven by playwright-core from npm (same cache). Without them that test fails.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    echo "test.sh: installing chromium for the console's browser test" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q chromium >/dev/null
fi
SLUICE_CHROMIUM="$(command -v chromium || command -v chromium-browser || true)"
export SLUICE_CHROMIUM
if command -v npm >/dev/null 2>&1 && [ ! -f "$NPM_PREFIX/node_modules/playwright-core/index.mjs" ]; then
    npm install --no-audit --no-fund --prefix "$NPM_PREFIX" playwright-core@1
fi
export SLUICE_PLAYWRIGHT_CORE="$NPM_PREFIX/node_modules/playwright-core"
# Screenshots of the console (kept as test artifacts) go here.
export SLUICE_SCREENSHOTS="${SLUICE_SCREENSHOTS:-$CARGO_TARGET_DIR/console-screenshots}"

# The connector tests talk to a real Kafka-protocol broker and a real MongoDB-wire server, which
# this starts on free loopback ports and stops afterwards.
scripts/test-servers.sh cargo nextest run --workspace --no-fail-fast "$@"
