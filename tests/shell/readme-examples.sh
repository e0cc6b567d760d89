#!/usr/bin/env bash
# Runs the README's examples against the services as `make run` starts them (.ci/run-services with the built binaries
# and the models `make models` left), so the README cannot drift from the product. The examples run are the ```sh
# blocks right after a `<!-- tested: make run -->` line; each command in them (a line, with its \ continuations) runs
# in one scratch directory, in order. Each must exit 0 with an answer that is not an error (and show what a trailing
# "# → TEXT" says it shows), except where its service is degraded (as its /health says): then the answer must carry
# the command that fixes it. Every service must have an example. Then SIGINT, as Ctrl-C sends it to the whole foreground job, must stop every service.
# usage: tests/shell/readme-examples.sh CONFIG MODELS_DIR
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
config=${1:-Release} models=${2:-$repo/build/models}
services=$(sed -n 's/^SERVICES := //p' "$repo/Makefile")   # every service must have an example
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }

# The examples.
mapfile -t examples < <(awk '
  /^<!-- tested: make run -->$/ { armed = 1; next }
  armed && /^```sh$/ { inblock = 1; armed = 0; cmd = ""; next }
  inblock && /^```$/ { inblock = 0; next }
  inblock {
    line = $0
    if (cmd == "" && (line ~ /^[ \t]*#/ || line ~ /^[ \t]*$/)) next
    if (line ~ /\\$/) { cmd = cmd substr(line, 1, length(line) - 1); next }
    print cmd line; cmd = ""
  }
  { armed = 0 }' "$repo/README.md")
[ "${#examples[@]}" -ge 5 ] && ok || fail "the README has ${#examples[@]} tested examples"

port_of() { grep -o 'localhost:[0-9]*' <<<"$1" | head -1 | cut -d: -f2; }
declare -A service_at
for s in $services; do
  p=$("$repo/services/$s/bin/$config/net10.0/$s" print-config --config /dev/null | awk '/^server:/ { s = 1; next } /^[^ ]/ { s = 0 } s && $1 == "port:" { print $2; exit }')
  service_at[$p]=$s
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "port $p ($s) is taken: stop what listens there first"; echo "0 passed, 1 failed"; exit 1; fi
done
for p in "${!service_at[@]}"; do
  n=0; for e in "${examples[@]}"; do [ "$(port_of "$e")" = "$p" ] && n=$((n + 1)); done
  [ "$n" -gt 0 ] && ok || fail "${service_at[$p]} (port $p) has no tested example in the README"
done

# make run, as its own job (set -m: its own process group, which gets SIGINT as a terminal's Ctrl-C would).
work=$(mktemp -d)
log=$work/.run.log
set -m
"$repo/.ci/run-services" "$services" "$config" "$models" >"$log" 2>&1 &
run=$!
set +m
trap 'kill -TERM -- -$run 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 240); do grep -q '^Ctrl-C stops them all' "$log" && break; kill -0 "$run" 2>/dev/null || break; sleep 0.25; done
if grep -q '^Ctrl-C stops them all' "$log"; then ok; else fail "make run printed no table within 60 s:"; tail -20 "$log"; fi
table=$(sed -n '/^SERVICE  *URL/,/^$/p' "$log")
echo "$table"
for s in $services; do
  row=$(grep "^$s " <<<"$table")
  if [[ $row =~ (ready|degraded:.*fix:|stand-in:) ]]; then ok; else fail "the table's row of $s: '$row'"; fi
done

# Every example.
cd "$work"
for e in "${examples[@]}"; do
  p=$(port_of "$e"); s=${p:+${service_at[$p]:-}}
  out=$(timeout 60 bash -o pipefail -c "$e" 2>&1); rc=$?
  health=$([ -n "$s" ] && curl -s --max-time 5 "localhost:$p/health")
  if [ "$rc" -ne 0 ]; then fail "exit $rc: $e"$'\n'"$out"; continue; fi
  if [ -z "$out" ] && [ -n "$p" ]; then fail "no answer: $e"; continue; fi
  if [ -n "$s" ] && [ "$(jq -r .ready <<<"$health" 2>/dev/null)" = false ]; then
    # A degraded service: the answer (its /health or the API's 503) names the command that fixes it.
    fix=$(jq -r '.fix // empty' <<<"$health" 2>/dev/null)
    if [ -n "$fix" ] && grep -qF "$fix" <<<"$out"; then ok; echo "ok, $s degraded, its fix shown: $e"
    else fail "$s is degraded and the answer does not name its fix ($fix): $e"$'\n'"$out"; fi
    continue
  fi
  if grep -qE '"(error|code)" *:|"status" *: *[45][0-9][0-9]|degraded' <<<"$out"; then fail "an error: $e"$'\n'"$out"; continue; fi
  # A trailing "# → TEXT" is what the answer shows: it must.
  want=$(sed -n 's/.*# → \(.*[^ ]\) *$/\1/p' <<<"$e")
  if [ -n "$want" ] && ! grep -qF -- "$want" <<<"$out"; then fail "expected '$want': $e"$'\n'"$out"; continue; fi
  ok; echo "ok${want:+ (shows $want)}: $e"
done
cd "$repo"

# Ctrl-C stops every service, and the run script with them.
kill -INT -- -"$run"
for _ in $(seq 60); do kill -0 "$run" 2>/dev/null || break; sleep 0.25; done
if kill -0 "$run" 2>/dev/null; then fail "make run still running 15 s after SIGINT"; else ok; fi
left=$(for f in /proc/[0-9]*/stat; do { read -r pid comm _ _ pgrp _ < "$f"; } 2>/dev/null && [ "$pgrp" = "$run" ] && echo "$pid$comm"; done | paste -sd' ')
[ -z "$left" ] && ok || fail "processes left after SIGINT: $left"
for p in "${!service_at[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then fail "${service_at[$p]} still listens on $p after SIGINT"; else ok; fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
