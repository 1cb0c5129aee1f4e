#!/usr/bin/env bash
# Installs what building, running and testing Nuts Wallet needs on Debian 12.
# Idempotent: skips apt when every package is present and npm when node_modules is current.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libwebkit2gtk-4.1-dev build-essential pkg-config curl wget file libssl-dev
  libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  xvfb xauth webkit2gtk-driver dbus dbus-x11 gnome-keyring libsecret-1-dev libsecret-tools
  imagemagick x11-apps x11-utils xdg-utils desktop-file-utils libglib2.0-bin
  softhsm2 opensc
  # the syslog collector of the audit forwarding tests (run unprivileged, on loopback)
  rsyslog rsyslog-openssl
  # the FHIR export test's validator (a venv), the package test's rpm reader
  python3-venv rpm
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${#missing[@]} Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

command -v cargo >/dev/null || { echo "deps: cargo not found; install Rust with rustup first" >&2; exit 1; }
command -v npm >/dev/null || { echo "deps: npm not found; install Node.js 20 first" >&2; exit 1; }

# UI dependencies (Vite, Svelte, TypeScript, Vitest, the Tauri CLI), pinned by ui/package-lock.json.
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  (cd ui && npm ci --no-audit --no-fund)
fi

# tauri-driver (WebDriver bridge for the end-to-end tests), pinned and kept inside the repo.
if [ "${NEED_TAURI_DRIVER:-0}" = 1 ] && [ ! -x .tools/bin/tauri-driver ]; then
  cargo install tauri-driver --version 2.1.0 --locked --root .tools
fi

# cargo-deny (licences, duplicate crates, crate sources; see deny.toml), pinned and kept inside the repo.
CARGO_DENY_VERSION=0.20.2
if [ "$(.tools/bin/cargo-deny --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
  cargo install --locked cargo-deny --version "$CARGO_DENY_VERSION" --root .tools
fi

# fhir.resources (an independent FHIR R4B model, pydantic-validated) for scripts/fhir-validate.py,
# which the CLI's FHIR export test runs; pinned with its model core and pydantic, in a venv inside
# the repo.
FHIR_RESOURCES_VERSION=8.3.0
if [ "$(.tools/fhir-venv/bin/python -c 'import importlib.metadata as m; print(m.version("fhir.resources"))' 2>/dev/null)" != "$FHIR_RESOURCES_VERSION" ]; then
  rm -rf .tools/fhir-venv
  python3 -m venv .tools/fhir-venv
  .tools/fhir-venv/bin/pip install -q --disable-pip-version-check \
    "fhir.resources==$FHIR_RESOURCES_VERSION" "fhir-core==1.1.12" "pydantic==2.14.4"
fi
