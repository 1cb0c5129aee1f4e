#!/usr/bin/env bash
# Benchmark: wallet link → consent screen rendered, in the real app under Xvfb.
# Builds the UI, the app and the CLI (debug, as the end-to-end tests use them; set
# NUTS_WALLET_APP_BIN to measure another build), then runs tests/benches/consent.rs inside
# Xvfb + a private D-Bus session with an unlocked gnome-keyring. Prints p50/p95.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NEED_TAURI_DRIVER=1 scripts/deps.sh
export PATH="$ROOT/.tools/bin:$PATH"
(cd ui && npm run build)
cargo build -p nuts-wallet-app -p wallet-cli
# The bench harness itself needs no LTO; keep its build short.
export CARGO_PROFILE_BENCH_LTO=false CARGO_PROFILE_BENCH_CODEGEN_UNITS=16
cargo bench -p nuts-wallet-e2e --features e2e --bench consent --no-run
mkdir -p run/xdg/config run/xdg/data run/xdg/cache run/xdg/runtime
chmod 700 run/xdg/runtime
export XDG_CONFIG_HOME=$ROOT/run/xdg/config XDG_DATA_HOME=$ROOT/run/xdg/data \
  XDG_CACHE_HOME=$ROOT/run/xdg/cache XDG_RUNTIME_DIR=$ROOT/run/xdg/runtime NO_AT_BRIDGE=1
xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" dbus-run-session -- bash -c \
  'echo -n nuts-wallet-test-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null
   cargo bench -p nuts-wallet-e2e --features e2e --bench consent 2>/dev/null'
