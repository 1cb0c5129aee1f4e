#!/usr/bin/env bash
# The full test run (what CI runs): installs what is missing, then lint, UI checks, all Rust
# tests and the end-to-end tests of the real app under Xvfb with a private D-Bus session and an
# unlocked gnome-keyring (Secret Service).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
t0=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$1" "$(($(date +%s) - t0))"; }

step "dependencies"
NEED_TAURI_DRIVER=1 scripts/deps.sh
export PATH="$ROOT/.tools/bin:$PATH"

step "UI: type check, unit tests, build"
(cd ui && npm run check && npm test && npm run build)

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy -D warnings"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo deny: licences, duplicate versions, sources (deny.toml)"
cargo deny check licenses bans sources

step "core crates must not depend on tauri"
for manifest in crates/*/Cargo.toml; do
  pkg=$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n1)
  if cargo tree -p "$pkg" -e normal,build -i tauri >/dev/null 2>&1; then
    echo "FAIL: $pkg depends on tauri:"; cargo tree -p "$pkg" -e normal,build -i tauri; exit 1
  fi
  echo "ok: $pkg has no tauri in its dependency tree"
done

step "build the app and the CLI"
cargo build -p nuts-wallet-app -p wallet-cli
cargo test --workspace --all-features --no-run

step "all Rust tests, inside Xvfb + D-Bus session + Secret Service"
rm -rf run/e2e run/screenshots run/xdg
mkdir -p run/xdg/config run/xdg/data run/xdg/cache run/xdg/runtime
chmod 700 run/xdg/runtime
export XDG_CONFIG_HOME=$ROOT/run/xdg/config XDG_DATA_HOME=$ROOT/run/xdg/data \
  XDG_CACHE_HOME=$ROOT/run/xdg/cache XDG_RUNTIME_DIR=$ROOT/run/xdg/runtime
export NO_AT_BRIDGE=1
xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
  dbus-run-session -- bash scripts/test-session.sh

if [ "${PACKAGE_TESTS:-0}" = 1 ]; then
  step "package (debug .deb) and install test"
  PACKAGE_PROFILE=debug PACKAGE_BUNDLES=deb,rpm scripts/package.sh
  xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" dbus-run-session -- bash -c \
    'echo -n nuts-wallet-test-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null; scripts/install-test.sh'
fi

step "done"
echo "all tests passed in $(($(date +%s) - t0)) s"
