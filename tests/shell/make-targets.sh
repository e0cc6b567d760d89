#!/usr/bin/env bash
# `make help` and the README's "Make targets" table name the same targets, each of them a real target of the Makefile;
# and a missing prerequisite makes a target fail at once with one clear line (no SDK, too old an SDK, an unknown
# SERVICE=, `make publish` without SERVICE=, no models), never a stack trace or a half-done build.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
passed=0 failed=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); printf 'FAIL %s:\n  expected: %s\n  got:      %s\n' "$1" "$2" "$3"; fi
}
# A target's run: its exit status and its whole output, which must be exactly the one expected line (besides make's
# "make: *** [Makefile:N: target] Error 1").
fails_with() { # fails_with NAME EXPECTED_LINE COMMAND...
  local name=$1 want=$2; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  out=$(grep -Ev '^make(\[[0-9]+\])?: \*\*\* \[[^]]*\] Error [0-9]+$' <<<"$out") # make's own closing line
  check "$name: fails" yes "$([ "$rc" -ne 0 ] && echo yes)"
  check "$name: says why" "$want" "$out"
}

help_targets=$(make --no-print-directory help | sed -n 's/^make \([a-z-]*\).*/\1/p' | sort -u)
readme_targets=$(sed -n '/^## Make targets/,/^## /p' README.md | grep -o '`make [a-z-]*' | sed 's/`make //' | sort -u)
check "make help names targets" yes "$([ "$(wc -l <<<"$help_targets")" -ge 10 ] && echo yes)"
check "make help and the README name the same targets" "$(paste -sd' ' <<<"$help_targets")" "$(paste -sd' ' <<<"$readme_targets")"
for t in $help_targets; do
  check "make $t is a target of the Makefile" yes "$(grep -q "^$t:" Makefile && echo yes)"
done

# A PATH with make and the shell's tools but no dotnet; and one whose dotnet is an SDK 8.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin" "$tmp/old"
for t in make bash sh sed grep cut tail test env cat; do ln -s "$(command -v $t)" "$tmp/bin/$t"; ln -s "$(command -v $t)" "$tmp/old/$t"; done
printf '#!/bin/sh\n[ "$1" = --list-sdks ] && echo "8.0.404 [/usr/share/dotnet/sdk]"\nexit 0\n' > "$tmp/old/dotnet"; chmod +x "$tmp/old/dotnet"
for t in build models run test publish bench; do
  fails_with "make $t without dotnet" "make: the .NET 10 SDK is not installed; run: .ci/install-deps" \
    env PATH="$tmp/bin" make --no-print-directory -s $t SERVICE=hailo-ocr
done
fails_with "make build with SDK 8" "make: the .NET 10 SDK is not installed (8.0.404 is too old); run: .ci/install-deps" \
  env PATH="$tmp/old" make --no-print-directory -s build
fails_with "make run SERVICE=hailo-nope" "Makefile:$(grep -n '^\$(error unknown SERVICE' Makefile | cut -d: -f1): *** unknown SERVICE=hailo-nope; the services are: $(sed -n 's/^SERVICES := //p' Makefile).  Stop." \
  make --no-print-directory run SERVICE=hailo-nope
fails_with "make publish without SERVICE" "name a service: make publish SERVICE=hailo-ocr RID=linux-x64" \
  make --no-print-directory -s publish
fails_with "make test-dotnet without models" "make: no models in $tmp/none; run: make models" \
  make --no-print-directory -s test-dotnet MODELS="$tmp/none"
fails_with "make deb ARCH=i386" "ARCH=i386: packages are built for amd64 and arm64" \
  make --no-print-directory -s deb ARCH=i386
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
