#!/usr/bin/env bash
# Checks the newest built packages without installing them (run first by scripts/install-test.sh;
# standalone after scripts/package.sh). Needs dpkg, binutils (readelf) and rpm (scripts/deps.sh).
#
# .deb:
#  - /usr/bin/nuts-wallet-app and /usr/bin/nuts-wallet, and a desktop entry that handles
#    nuts-wallet: links (MimeType=x-scheme-handler/nuts-wallet, Exec ... %u);
#  - Depends: every shared library that either binary links (ELF NEEDED, resolved with ldd) belongs
#    (dpkg -S) to a package that Depends names, or that is a direct Depends/Pre-Depends of one
#    of those (e.g. libc6 and libglib2.0-0 through libwebkit2gtk-4.1-0). Nothing else is implied:
#    a library reachable only further down (libssl3 through webkit's dependencies' dependencies)
#    must be named, as the binaries would break the day that chain changes.
#    Every library ldd lists (the whole tree) must come from that recursive closure.
# .rpm (when PACKAGE_CHECK_RPM is not 0):
#  - the same files (rpm -qlp; the payload read with rpm2archive), the desktop entry, and the
#    binaries of the same build as the .deb's;
#  - Requires: the soname capability (`libssl.so.3()(64bit)`) of every library either binary links,
#    so any rpm distribution resolves it to its own package.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "package-check FAILED: $*" >&2; exit 1; }
newest() { find target/*/bundle/"$1" -name "*.$1" -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -n1 | cut -d' ' -f2-; }
BINS=(usr/bin/nuts-wallet-app usr/bin/nuts-wallet)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check_desktop() { # $1 = what, $2 = file
  grep -q '^MimeType=.*x-scheme-handler/nuts-wallet' "$2" || fail "$1: no x-scheme-handler/nuts-wallet MimeType in $(basename "$2")"
  grep -q '^Exec=nuts-wallet-app .*%u$\|^Exec=nuts-wallet-app %u$' "$2" || fail "$1: Exec is not 'nuts-wallet-app %u' in $(basename "$2")"
}

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

# The package owning a library path; merged /usr means dpkg may know it under /lib or /usr/lib.
owner() {
  local p=$1 real
  real=$(readlink -f "$p")
  for q in "$p" "$real" "/usr$p" "${p#/usr}" "/usr$real" "${real#/usr}"; do
    dpkg -S "$q" 2>/dev/null | head -n1 | cut -d: -f1 | grep . && return 0
  done
  return 1
}

# Package names from a Depends-style field (alternatives, versions and :any dropped).
names() { tr ',|' '\n\n' | sed 's/([^)]*)//g; s/\[[^]]*\]//g; s/:any//; s/^ *//; s/ *$//' | grep -v '^$' | sort -u; }

# ---- .deb
deb=$(newest deb)
[ -n "$deb" ] || fail "no .deb under target/*/bundle/deb; run scripts/package.sh first"
echo "package-check: $deb"
dpkg-deb -x "$deb" "$tmp/deb"
for b in "${BINS[@]}"; do [ -x "$tmp/deb/$b" ] || fail ".deb: /$b missing"; done
desktop=$(find "$tmp/deb/usr/share/applications" -name '*.desktop' | head -n1)
[ -n "$desktop" ] || fail ".deb: no desktop entry"
check_desktop .deb "$desktop"

depends=$(dpkg-deb -f "$deb" Depends)
echo "package-check: Depends: $depends"
names <<<"$depends" >"$tmp/direct"
: >"$tmp/level2"
while read -r p; do
  dpkg-query -W -f='${Depends}, ${Pre-Depends}\n' "$p" 2>/dev/null | names >>"$tmp/level2" \
    || fail "Depends names $p, which is not installed here (dpkg-query cannot read its dependencies)"
done <"$tmp/direct"
sort -u "$tmp/direct" "$tmp/level2" -o "$tmp/accepted"
# The recursive closure, over the installed packages' own dependencies.
cp "$tmp/accepted" "$tmp/closure"
dpkg-query -W -f='${Package}\t${Depends}, ${Pre-Depends}\n' >"$tmp/all"
while :; do
  before=$(wc -l <"$tmp/closure")
  awk -F'\t' 'NR==FNR {want[$1]=1; next} ($1 in want) {print $2}' "$tmp/closure" "$tmp/all" | names \
    | sort -u - "$tmp/closure" -o "$tmp/closure"
  [ "$(wc -l <"$tmp/closure")" = "$before" ] && break
done

problems=0
for b in "${BINS[@]}"; do
  bin="$tmp/deb/$b"
  ldd "$bin" >"$tmp/ldd" 2>&1 || fail "ldd /$b: $(cat "$tmp/ldd")"
  if grep -q 'not found' "$tmp/ldd"; then fail "/$b: $(grep 'not found' "$tmp/ldd" | tr -s '\t ' ' ')"; fi
  direct_libs=$(needed "$bin")
  while read -r soname path; do
    [ -n "$path" ] || continue
    pkg=$(owner "$path") || { echo "  /$b: $soname ($path): no Debian package owns it" >&2; problems=$((problems + 1)); continue; }
    if grep -qx "$soname" <<<"$direct_libs"; then
      if grep -qx "$pkg" "$tmp/direct"; then how="in Depends"
      elif grep -qx "$pkg" "$tmp/level2"; then how="a dependency of one in Depends"
      else echo "  /$b links $soname from $pkg, which Depends does not name (nor any package it names directly)" >&2; problems=$((problems + 1)); continue
      fi
      echo "  /$b: $soname -> $pkg ($how)"
    elif ! grep -qx "$pkg" "$tmp/closure"; then
      echo "  /$b: $soname (loaded through another library) -> $pkg, outside what Depends pulls in" >&2
      problems=$((problems + 1))
    fi
  done < <(awk '/=>/ {print $1, $3} !/=>/ && $1 ~ /^\// {n = split($1, p, "/"); print p[n], $1}' "$tmp/ldd")
  # (ldd names the dynamic loader by its path only.)
done
((problems == 0)) || fail ".deb Depends misses $problems shared-library package(s) (tauri.conf.json bundle.linux.deb.depends)"
echo "package-check: .deb ok (files, desktop entry, Depends covers every linked library)"

# ---- .rpm
if [ "${PACKAGE_CHECK_RPM:-1}" != 0 ]; then
  rpm=$(newest rpm)
  [ -n "$rpm" ] || fail "no .rpm under target/*/bundle/rpm; run scripts/package.sh with rpm in PACKAGE_BUNDLES"
  echo "package-check: $rpm"
  rpm -qlp "$rpm" 2>/dev/null >"$tmp/rpmfiles"
  for b in "${BINS[@]}"; do grep -qx "/$b" "$tmp/rpmfiles" || fail ".rpm: /$b not in rpm -qlp"; done
  grep -q '^/usr/share/applications/.*\.desktop$' "$tmp/rpmfiles" || fail ".rpm: no desktop entry"
  # rpm2archive, not rpm2cpio: Debian 12's rpm2cpio exits 1 on the bundler's rpm (the payload is
  # complete all the same); rpm2archive reads it cleanly, as a tar.gz.
  mkdir -p "$tmp/rpm"
  rpm2archive - <"$rpm" | tar -xzf - -C "$tmp/rpm"
  check_desktop .rpm "$(find "$tmp/rpm/usr/share/applications" -name '*.desktop' | head -n1)"
  # The CLI is the same file; the bundler marks the app with its package type (3 bytes: DEB/RPM).
  cmp -s "$tmp/deb/usr/bin/nuts-wallet" "$tmp/rpm/usr/bin/nuts-wallet" || fail ".rpm: /usr/bin/nuts-wallet differs from the .deb's"
  differ=$(cmp -l "$tmp/deb/usr/bin/nuts-wallet-app" "$tmp/rpm/usr/bin/nuts-wallet-app" | wc -l) || true
  ((differ <= 3)) && [ "$(stat -c %s "$tmp/deb/usr/bin/nuts-wallet-app")" = "$(stat -c %s "$tmp/rpm/usr/bin/nuts-wallet-app")" ] \
    || fail ".rpm: /usr/bin/nuts-wallet-app is not the .deb's build ($differ bytes differ)"
  rpm -qp --requires "$rpm" 2>/dev/null | sed 's/ *$//' >"$tmp/requires"
  echo "package-check: Requires: $(paste -sd' ' "$tmp/requires")"
  missing=()
  for b in "${BINS[@]}"; do
    while read -r soname; do
      grep -qxF "$soname()(64bit)" "$tmp/requires" || missing+=("/$b: $soname()(64bit)")
    done < <(needed "$tmp/rpm/$b")
  done
  ((${#missing[@]} == 0)) || fail ".rpm Requires misses: ${missing[*]} (tauri.conf.json bundle.linux.rpm.depends)"
  echo "package-check: .rpm ok (files, desktop entry, same binaries, Requires covers every linked library)"
fi
