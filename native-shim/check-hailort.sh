#!/usr/bin/env bash
# Compiles the shim's real HailoRT backend (src/backend_hailort.cpp) against HailoRT's public headers, for
# x86-64 and aarch64, with the shim's own warning flags as errors. Nothing is linked: no libhailort exists off
# a Pi. This catches a change to the shim's internals that breaks the real backend before it reaches a device.
#
#   native-shim/check-hailort.sh [HEADERS_ROOT]
#
# HEADERS_ROOT (or $HAILORT_HEADERS) holds one folder per HailoRT version, each with include/hailo/hailort.hpp,
# e.g. HEADERS_ROOT/5.1.1/include. Default: third_party/hailort in the folder beside the repository, which the
# project's build machines carry; where it is absent the check is skipped with a message saying so (exit 0),
# unless HS_REQUIRE_HAILORT_HEADERS=1 (then exit 2).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
headers="${1:-${HAILORT_HEADERS:-$root/../shared/third_party/hailort}}"

shopt -s nullglob
versions=()
for d in "$headers"/*/include/hailo/hailort.hpp; do
    versions+=("$(basename "$(dirname "$(dirname "$(dirname "$d")")")")")
done
if [[ ${#versions[@]} -eq 0 ]]; then
    echo "check-hailort: no HailoRT headers under $headers; the real backend was not compiled (set HAILORT_HEADERS to a folder of <version>/include trees)"
    [[ "${HS_REQUIRE_HAILORT_HEADERS:-0}" == 1 ]] && exit 2
    exit 0
fi

compilers=(g++)
if [[ "$(uname -m)" == aarch64 ]]; then
    compilers=(g++)
elif command -v aarch64-linux-gnu-g++ >/dev/null 2>&1; then
    compilers+=(aarch64-linux-gnu-g++)
else
    echo "check-hailort: aarch64-linux-gnu-g++ not found (apt-get install -y g++-aarch64-linux-gnu); checking x86-64 only" >&2
    [[ "${CI:-}" == true ]] && exit 2
fi

failed=0
for v in "${versions[@]}"; do
    if [[ ! "$v" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]]; then
        echo "check-hailort: skipping $headers/$v (not a version number)" >&2
        continue
    fi
    for cxx in "${compilers[@]}"; do
        # The same language level, warnings and definitions as CMakeLists.txt gives the library.
        if "$cxx" -std=c++17 -O2 -Wall -Wextra -Werror -fPIC -fvisibility=hidden \
            -DHS_HAVE_HAILORT=1 -DHS_HRT_MAJOR="${BASH_REMATCH[1]}" -DHS_HRT_MINOR="${BASH_REMATCH[2]}" \
            -DHS_HRT_REVISION="${BASH_REMATCH[3]}" -DHS_BUILDING_SHIM=1 -DHS_SHIM_VERSION='"check"' \
            -I"$here/include" -I"$here/src" -isystem "$headers/$v/include" \
            -c "$here/src/backend_hailort.cpp" -o /dev/null; then
            echo "check-hailort: backend_hailort.cpp compiles against HailoRT $v with $cxx"
        else
            echo "check-hailort: backend_hailort.cpp does NOT compile against HailoRT $v with $cxx" >&2
            failed=1
        fi
    done
done
exit $failed
