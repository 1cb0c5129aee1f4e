#!/usr/bin/env bash
# Benchmark: start-up time and memory of the release app beside a minimal Tauri 2 window built
# the same way (tests/minimal-window, the floor), under Xvfb with a private D-Bus session and an
# unlocked gnome-keyring. Prints start → window, start → interactive UI (keyring vault), idle
# RSS/PSS of the app and its WebKit processes after 10 s, and the growth after 50 handled links.
#
#   scripts/bench-footprint.sh                 # build both in release, then measure
#   FOOTPRINT_RUNS=3 FOOTPRINT_LINKS=0 ...     # fewer start-ups, no link phase
#   FOOTPRINT_ENV=JSC_useJIT=0 ...             # try a WebKit switch on the wallet
#   NUTS_WALLET_APP_BIN=path ...               # measure another build of the app
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NEED_TAURI_DRIVER=1 scripts/deps.sh
export PATH="$ROOT/.tools/bin:$PATH"
(cd ui && npm run build)
export NUTS_WALLET_BUILD_COMMIT=${NUTS_WALLET_BUILD_COMMIT:-$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}
# The CLI (which sets the wallet up, as an administrator would) comes with the app.
cargo build --release -p nuts-wallet-app -p wallet-cli -p nuts-wallet-minimal-window
export CARGO_PROFILE_BENCH_LTO=false CARGO_PROFILE_BENCH_CODEGEN_UNITS=16
cargo bench -p nuts-wallet-e2e --features e2e --bench footprint --no-run
export NUTS_WALLET_APP_BIN=${NUTS_WALLET_APP_BIN:-$ROOT/target/release/nuts-wallet-app}
export NUTS_WALLET_FLOOR_BIN=${NUTS_WALLET_FLOOR_BIN:-$ROOT/target/release/nuts-wallet-minimal-window}
mkdir -p run/xdg-bench/config run/xdg-bench/data run/xdg-bench/cache run/xdg-bench/runtime
chmod 700 run/xdg-bench/runtime
export XDG_CONFIG_HOME=$ROOT/run/xdg-bench/config XDG_DATA_HOME=$ROOT/run/xdg-bench/data \
  XDG_CACHE_HOME=$ROOT/run/xdg-bench/cache XDG_RUNTIME_DIR=$ROOT/run/xdg-bench/runtime NO_AT_BRIDGE=1
xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" dbus-run-session -- bash -c \
  'echo -n nuts-wallet-test-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null
   cargo bench -p nuts-wallet-e2e --features e2e --bench footprint 2>/dev/null'
