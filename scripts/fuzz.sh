#!/usr/bin/env bash
# Long fuzz run of every target in crates/wallet-fuzz (stable Rust, no libFuzzer):
#   scripts/fuzz.sh                 10 million executions in total, split over the targets
#   FUZZ_TOTAL=1000000 scripts/fuzz.sh       a shorter run
#   FUZZ_SEED=7 scripts/fuzz.sh     another mutation sequence (default: a fixed seed)
#   scripts/fuzz.sh deeplink did    only these targets
# Prints, per target, the executions, the time, the rate and the findings (each panic with the
# input that caused it); exits non-zero when any target panicked.
set -euo pipefail
cd "$(dirname "$0")/.."

TOTAL=${FUZZ_TOTAL:-10000000}
# Share of the total per target, in per mille: the fast parsers get more cases than the
# presentation-exchange engine, the vault header and the HTTP router.
declare -A SHARE=(
  [deeplink]=200
  [did]=230
  [compact_jws]=150
  [request_object]=150
  [pex_definition]=60
  [pex_credential]=70
  [backup_header]=30
  [api_request]=20
  [pkcs11_uri]=60
  [profile_envelope]=30
)
# Every target of crates/wallet-fuzz/tests/fuzz.rs (the shares add up to 1000 per mille).
ORDER=(deeplink did compact_jws request_object pex_definition pex_credential backup_header api_request
  pkcs11_uri profile_envelope)
if [ $# -gt 0 ]; then ORDER=("$@"); fi

echo "building the fuzz targets (test profile)..."
cargo test -p wallet-fuzz --test fuzz --no-run --quiet

declare -a args=()
for t in "${ORDER[@]}"; do
  share=${SHARE[$t]:-}
  if [ -z "$share" ]; then echo "unknown target: $t (known: ${!SHARE[*]})" >&2; exit 2; fi
  upper=$(echo "$t" | tr '[:lower:]' '[:upper:]')
  export "FUZZ_CASES_${upper}=$(( TOTAL * share / 1000 ))"
  args+=("fuzz_$t")
done

start=$(date +%s)
status=0
log=$(mktemp)
# Two targets at a time (the test harness's threads); each prints one FUZZ line (with
# --nocapture the harness may print on the same line, hence grep -o).
cargo test -p wallet-fuzz --test fuzz --quiet -- --exact --nocapture --test-threads=2 "${args[@]}" \
  2>&1 | tee "$log" | grep --line-buffered -oE 'FUZZ .*findings=[0-9]+|panicked.*|input:.*|test result.*' || true
grep -q 'test result: ok' "$log" || status=1
total=$(grep -oE 'FUZZ .*findings=[0-9]+' "$log" | sed -E 's/.*executions= *([0-9]+).*/\1/' | paste -sd+ - | bc)
echo "total executions: ${total:-0} in $(( $(date +%s) - start ))s; $( [ $status -eq 0 ] && echo 'no findings' || echo 'FINDINGS above')"
rm -f "$log"
exit $status
