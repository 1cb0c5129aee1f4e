#!/usr/bin/env bash
# Install test of the .deb (run by `PACKAGE_TESTS=1 make test`, inside Xvfb + D-Bus): check the
# .deb's and the .rpm's contents and dependencies (scripts/package-check.sh), install the .deb,
# check where the files land, register and query the nuts-wallet: handler, open a link with
# `gio open` so the *installed* app starts and shows the request, then uninstall and
# check that the user's data directory survives.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/package-check.sh
deb=$(find target/*/bundle/deb -name '*.deb' -printf '%T@ %p\n' | sort -n | tail -n1 | cut -d' ' -f2-)
[ -n "$deb" ] || { echo "install-test: no .deb found; run scripts/package.sh first" >&2; exit 1; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
fail() { echo "install-test FAILED: $*" >&2; exit 1; }
echo "install-test: installing $deb"
$SUDO apt-get install -y -qq --no-install-recommends "./$deb" >/dev/null || $SUDO dpkg -i "$deb"

desktop=$(dpkg -L nuts-wallet | grep '^/usr/share/applications/.*\.desktop$') || fail "no .desktop file installed"
for f in /usr/bin/nuts-wallet-app /usr/bin/nuts-wallet; do [ -x "$f" ] || fail "$f missing"; done
exec_bin=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$desktop")
[ -x "$(command -v "$exec_bin")" ] || fail "the .desktop Exec ($exec_bin) is not on PATH"
grep -q '^MimeType=x-scheme-handler/nuts-wallet' "$desktop" || fail "no nuts-wallet: MimeType in $desktop"
grep -q '^Exec=.* %u$' "$desktop" || fail "Exec does not take the URL (%u)"
echo "install-test: files ok ($desktop)"
[ "$(nuts-wallet --version | cut -d' ' -f2)" = "$(dpkg-query -W -f='${Version}' nuts-wallet)" ] || fail "CLI version differs from the package version"

# Register as the user's handler, the way a desktop environment does on install.
$SUDO update-desktop-database -q /usr/share/applications || true
xdg-mime default "$(basename "$desktop")" x-scheme-handler/nuts-wallet
handler=$(xdg-mime query default x-scheme-handler/nuts-wallet)
[ "$handler" = "$(basename "$desktop")" ] || fail "xdg-mime names '$handler'"
echo "install-test: xdg-mime default handler = $handler"

data=$PWD/run/install-test/data
rm -rf "$data"; mkdir -p "$data"
export NUTS_WALLET_DATA_DIR=$data NUTS_WALLET_PASSPHRASE="install test passphrase" NUTS_WALLET_ADMIN_PASSPHRASE="install test admin"
nuts-wallet init --keyring >/dev/null
link='nuts-wallet://authorize?client_id=https%3A%2F%2Fzorg.example%2Foauth2%2Fa&request_uri=https%3A%2F%2Fzorg.example%2Foauth2%2Fa%2Frequest.jwt%2Finstall'
gio open "$link"
for _ in $(seq 1 60); do
  grep -qs 'incoming nuts-wallet link' "$data"/logs/*.log && break
  sleep 0.5
done
grep -qs 'incoming nuts-wallet link.*outcome="authorize"' "$data"/logs/*.log || fail "the installed app did not receive the link"
pid=$(pgrep -x nuts-wallet-app | head -n1) || fail "the installed app is not running"
[ "$(readlink "/proc/$pid/exe")" = /usr/bin/nuts-wallet-app ] || fail "the running app is not the installed one"
sleep 6  # first start of WebKit; let the window render before the screenshot
mkdir -p run/screenshots
import -window root run/screenshots/install-gio-open.png || true
kill "$pid"
echo "install-test: gio open started /usr/bin/nuts-wallet-app (pid $pid) and it received the link"

$SUDO apt-get remove -y -qq nuts-wallet >/dev/null || $SUDO dpkg -r nuts-wallet
[ ! -e /usr/bin/nuts-wallet-app ] && [ ! -e /usr/bin/nuts-wallet ] && [ ! -e "$desktop" ] || fail "files left after uninstall"
[ -f "$data/vault.db" ] || fail "uninstall removed the user's vault"
echo "install-test: uninstalled; the data directory and its vault are intact"
