#!/usr/bin/env bash
# Installs what a fresh Debian machine with rustup lacks to build and test MedLedger.
# Idempotent: installs only what is missing.
set -euo pipefail

# chromium: the portal's browser tests (portal/tests) drive Debian's headless Chromium.
APT_PACKAGES=(protobuf-compiler clang libclang-dev softhsm2 opensc chromium)
WASM_TARGET=wasm32v1-none

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    echo "setup: apt packages present"
fi

if ! command -v rustup >/dev/null; then
    echo "error: rustup not found — install it from https://rustup.rs and run this again" >&2
    exit 1
fi
if ! rustup target list --installed | grep -qx "$WASM_TARGET"; then
    echo "setup: adding rustup target $WASM_TARGET"
    rustup target add "$WASM_TARGET"
else
    echo "setup: rustup target $WASM_TARGET present"
fi

# The web portal's dependencies (Node.js 20 and npm; exact versions from its package-lock.json).
if ! command -v npm >/dev/null; then
    echo "error: npm not found — install Node.js 20 (with npm) and run this again" >&2
    exit 1
fi
echo "setup: installing the portal's npm dependencies (npm ci)"
(cd "$(dirname "$0")/../portal" && npm ci --no-audit --no-fund)
