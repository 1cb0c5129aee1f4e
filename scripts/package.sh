#!/usr/bin/env bash
# Builds the installable packages with the Tauri bundler (npm @tauri-apps/cli@2):
#   target/release/bundle/deb/Nuts Wallet_<version>_amd64.deb  (app + the nuts-wallet CLI)
#   target/release/bundle/rpm/Nuts Wallet-<version>-1.x86_64.rpm (the same files)
#   target/release/bundle/appimage/...AppImage                  (when the AppImage tools can be fetched)
# PACKAGE_PROFILE=debug builds a quicker debug package (used by the install test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
(cd ui && npm run build)
profile=${PACKAGE_PROFILE:-release}
bundles=${PACKAGE_BUNDLES:-deb,rpm,appimage}
export NUTS_WALLET_BUILD_COMMIT=${NUTS_WALLET_BUILD_COMMIT:-$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}
tauri=(../ui/node_modules/.bin/tauri build --bundles "$bundles")
if [ "$profile" = debug ]; then
  cargo build -p wallet-cli
  tauri+=(--debug --config '{"bundle":{"linux":{"deb":{"files":{"/usr/bin/nuts-wallet":"../target/debug/nuts-wallet"}},"rpm":{"files":{"/usr/bin/nuts-wallet":"../target/debug/nuts-wallet"}},"appimage":{"files":{"/usr/bin/nuts-wallet":"../target/debug/nuts-wallet"}}}}}')
else
  cargo build --release -p wallet-cli
fi
# The AppImage step downloads linuxdeploy from GitHub; where that is unreachable, keep the .deb
# and the .rpm (both are built without a network).
(cd src-tauri && "${tauri[@]}") || {
  if [[ "$bundles" == *appimage* ]]; then
    echo "package: bundling with AppImage failed (its tools are fetched from GitHub); building without it" >&2
    without=$(tr ',' '\n' <<<"$bundles" | grep -vx appimage | paste -sd, -)
    tauri=("${tauri[@]/#$bundles/$without}")
    (cd src-tauri && "${tauri[@]}")
  else
    exit 1
  fi
}
echo "packages:"
find "target/$profile/bundle" -maxdepth 2 -type f \( -name '*.deb' -o -name '*.rpm' -o -name '*.AppImage' \) -exec ls -l {} \;
