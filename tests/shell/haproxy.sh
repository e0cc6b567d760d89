#!/usr/bin/env bash
# Several hosts behind Debian's HAProxy, as debian/haproxy/hailo-haproxy-config lays it out: two hailo-pose
# instances (the built binary, the committed generated smoke model) on 127.0.0.2 and 127.0.0.3 behind a real
# haproxy on 127.0.0.1. Checks: the configuration is valid; /health goes through; a mixed load from several
# clients is spread over both instances (least connections); one instance is killed (SIGKILL) in the middle of
# the load and every request is still answered, 200 or, only for requests in flight on the killed instance,
# 503 with Retry-After in the JSON error shape; afterwards the survivor takes everything and the killed one is
# marked down by the health check. And a streamed generation (hailo-ollama with the stand-in model, on A only) comes
# through as it is produced: its first NDJSON line arrives well before its last, not all at once at the end.
# usage: tests/shell/haproxy.sh CONFIG MODELS_DIR
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
config=${1:-Release}
models=${2:-$repo/build/models}
ollama=$repo/services/hailo-ollama/bin/$config/net10.0/hailo-ollama
bin=$repo/services/hailo-pose/bin/$config/net10.0/hailo-pose
smoke=$repo/tests/Hailo.Pose.Tests/fixtures/smoke
image=$smoke/image-1280x720.png
offset=21000 clients=6 per_client=30 kill_after=40
front=http://127.0.0.1:$((11440 + offset))
work=$(mktemp -d); [ -z "${KEEP:-}" ] || echo "work: $work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL $*"; echo "0 passed, 1 failed"; exit 1; }
passed=0
ok() { passed=$((passed + 1)); echo "  ok    $*"; }
command -v haproxy >/dev/null || fail "haproxy is not installed (apt install haproxy; .ci/install-deps installs it)"
[ -x "$bin" ] || fail "$bin is not built (make build)"
[ -x "$ollama" ] || fail "$ollama is not built (make build)"
[ -d "$models/stand-in:tiny" ] || fail "no stand-in:tiny in $models (make models)"

start_instance() {  # start_instance ADDRESS: hailo-pose on ADDRESS:11440+offset-1000 (the generator's HOST:1000 below)
  "$bin" --config /dev/null --server.host "$1" --server.port $((11440 + offset - 20000)) --models.dir "$smoke" \
    --cpu.threads 1 >"$work/$1.log" 2>&1 &
  pids+=($!)
}
start_instance 127.0.0.2; a_pid=$!
start_instance 127.0.0.3; b_pid=$!
"$ollama" --config /dev/null --server.host 127.0.0.2 --server.port $((11434 + offset - 20000)) --models.dir "$models" \
  --ollama.default_model stand-in:tiny --device cpu --cpu.threads 1 >"$work/ollama.log" 2>&1 &
pids+=($!)
"$repo/debian/haproxy/hailo-haproxy-config" --bind 127.0.0.1 --port-offset "$offset" --services "hailo-pose hailo-ollama" \
  127.0.0.2:$((offset - 20000)) 127.0.0.3:$((offset - 20000)) >"$work/haproxy.cfg" || fail "hailo-haproxy-config"
# The test runs as any user: no syslog socket, no pid file.
sed -i 's|^    log /dev/log local0|    log stderr format short local0 notice|' "$work/haproxy.cfg"
haproxy -c -f "$work/haproxy.cfg" >/dev/null 2>&1 || fail "haproxy -c: $(haproxy -c -f "$work/haproxy.cfg" 2>&1 | tail -3)"
ok "hailo-haproxy-config: a valid configuration ($(haproxy -v | head -1 | cut -d' ' -f1-3))"
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!)

# Both instances READY (model loaded) and seen healthy by haproxy: /health through the front reaches each.
declare -A seen=()
for _ in $(seq 1 300); do
  h=$(curl -s -m 5 -o /dev/null -D - "$front/health" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-hailo-host" { print $2 }')
  [ -n "$h" ] && seen[$h]=1
  [ "${#seen[@]}" = 2 ] && break
  sleep 0.2
done
[ "${#seen[@]}" = 2 ] || fail "/health through haproxy reached ${!seen[*]} only; logs: $(tail -3 "$work"/*.log)"
ok "/health through haproxy reaches both instances: ${!seen[*]}"

# A stream through haproxy: hailo-ollama runs on A only (B's is down from the start, so haproxy sends it to A).
ofront=http://127.0.0.1:$((11434 + offset))
for _ in $(seq 1 300); do
  curl -s -m 5 -o /dev/null -D - "$ofront/api/version" | grep -qi '^x-hailo-host: 127_0_0_2' && break
  sleep 0.2
done
start=$(date +%s%N)
curl -s -N -m 120 "$ofront/api/generate" -H 'Content-Type: application/json' \
  -d '{"model":"stand-in:tiny","prompt":"Tell me a long story.","stream":true,"options":{"num_predict":100,"seed":1}}' |
  while IFS= read -r line; do echo "$(( ($(date +%s%N) - start) / 1000000 )) ${#line}"; done >"$work/arrivals"
lines=$(wc -l <"$work/arrivals"); first=$(head -1 "$work/arrivals" | cut -d' ' -f1); last=$(tail -1 "$work/arrivals" | cut -d' ' -f1)
[ "$lines" -ge 10 ] || fail "a streamed generation through haproxy gave $lines lines; $(tail -3 "$work/ollama.log")"
# Buffered by the proxy, every line would arrive together at the end.
[ $((first * 2)) -le "$last" ] || fail "streamed lines arrived together through haproxy: the first after $first ms, the last after $last ms"
ok "a streamed generation through haproxy: $lines NDJSON lines, the first after $first ms, the last after $last ms"

# The load: each client posts the image in a loop and records status and serving host; client 1 kills instance B
# after its first requests are through, while the others are in flight.
client() {  # client N
  local n=$1 i out
  for i in $(seq 1 "$per_client"); do
    out=$(curl -s -m 60 -o "$work/body.$n.$i" -D "$work/head.$n.$i" -w '%{http_code}' -F "image=@$image" "$front/v1/pose/detect")
    echo "$out $(tr -d '\r' <"$work/head.$n.$i" | awk -F': ' 'tolower($1) == "x-hailo-host" { print $2 }')" >>"$work/result.$n"
    if [ "$n" = 1 ] && [ "$i" = $(( kill_after / clients )) ]; then kill -9 "$b_pid"; date +%s%N >"$work/killed"; fi
  done
}
for n in $(seq 1 "$clients"); do client "$n" & done
wait $(jobs -p | grep -v -e "$a_pid" -e "$b_pid" | tail -n "$clients") 2>/dev/null
[ -f "$work/killed" ] || fail "instance B was not killed"
kill -0 "$b_pid" 2>/dev/null && fail "instance B is still running"

total=$(cat "$work"/result.* | wc -l)
[ "$total" = $((clients * per_client)) ] || fail "$total answers recorded, $((clients * per_client)) sent"
bad=$(awk '$1 != 200 && $1 != 503' "$work"/result.* | sort | uniq -c)
[ -z "$bad" ] || fail "answers other than 200 and 503: $bad"
n503=$(awk '$1 == 503' "$work"/result.* | wc -l)
# Only requests in flight on B when it died may fail: at most one per client.
[ "$n503" -le "$clients" ] || fail "$n503 answers were 503, more than the $clients that can have been in flight"
for f in "$work"/head.*; do
  n=${f##*/head.}
  if head -1 "$f" | grep -q ' 503'; then
    grep -qi '^retry-after: 1' "$f" && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["error"]["code"] else 1)' "$work/body.$n" \
      || fail "a 503 without Retry-After or the JSON error shape: $(cat "$f" "$work/body.$n")"
  elif ! python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["poses"] else 1)' "$work/body.$n" 2>/dev/null; then
    fail "a 200 without a pose answer: $(head -c 300 "$work/body.$n")"
  fi
done
a_count=$(awk '$1 == 200 && $2 ~ /127_0_0_2/' "$work"/result.* | wc -l)
b_count=$(awk '$1 == 200 && $2 ~ /127_0_0_3/' "$work"/result.* | wc -l)
[ "$a_count" -gt 0 ] && [ "$b_count" -gt 0 ] || fail "the load was not spread: A $a_count, B $b_count"
ok "$total requests from $clients clients: A answered $a_count, B $b_count before it was killed; $n503 in flight on B answered 503 + Retry-After, none lost, no other status"

# After the kill: everything goes to A, and haproxy's health check has marked B down.
for i in $(seq 1 10); do
  out=$(curl -s -m 60 -o /dev/null -D - -w '%{http_code}' -F "image=@$image" "$front/v1/pose/detect" | tr -d '\r')
  [[ $out == *200 ]] && grep -qi '^x-hailo-host: 127_0_0_2' <<<"$out" || fail "after the kill, request $i: $(tail -1 <<<"$out")"
done
# B's last state change in haproxy's log (its health checks also fail while it loads at the start) is DOWN.
b_state=$(grep -oE 'Server pose/127_0_0_3_[0-9]+ is (UP|DOWN)' "$work/haproxy.log" | tail -1)
[[ $b_state == *DOWN ]] || fail "haproxy did not mark B down; its last state: '$b_state'; $(tail -5 "$work/haproxy.log")"
ok "after the kill: 10 of 10 requests answered 200 by A; haproxy marked B down ($b_state)"
echo "$passed passed, 0 failed"
