#!/usr/bin/env bash
# Installs the system packages the build needs beyond Rust: cmake, OpenSSL and curl headers and
# pkg-config (librdkafka, the Kafka client, is built from source with TLS), and a C compiler (QuickJS,
# the JavaScript engine of $function and $accumulator, is C built by the rquickjs crate). Does
# nothing when they are there.
set -euo pipefail

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v cc >/dev/null 2>&1 || missing+=(gcc)
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
# librdkafka 2.12's CMake build includes curl/curl.h even with curl off (its config header defines
# WITH_OAUTHBEARER_OIDC as 0, and a source file tests it with #ifdef): the header must be there.
pkg-config --exists libcurl 2>/dev/null || missing+=(libcurl4-openssl-dev)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "build-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q "${missing[@]}" >/dev/null
