#!/usr/bin/env bash
# Builds and starts the desktop app (installs what is missing first). The app keeps its data in
# the platform's data directory (~/.local/share/nuts-wallet) unless NUTS_WALLET_DATA_DIR is set.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
(cd ui && npm run build)
cargo build -p nuts-wallet-app -p wallet-cli
exec target/debug/nuts-wallet-app "$@"
