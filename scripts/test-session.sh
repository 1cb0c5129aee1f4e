#!/usr/bin/env bash
# Runs inside `xvfb-run dbus-run-session` (see scripts/test.sh): unlocks a fresh gnome-keyring
# login collection so the Secret Service is real, then runs every Rust test.
set -euo pipefail
echo -n "nuts-wallet-test-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
# The end-to-end tests share one app identity (single-instance D-Bus name), so they must not run
# in parallel with each other; cargo runs test binaries one after another anyway.
cargo test --workspace --all-features --no-fail-fast 2>&1 | tee run/test.log
