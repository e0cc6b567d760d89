#!/usr/bin/env bash
# Builds libhailo_shim.so into build/native-shim/<arch> at the repository root.
#
#   native-shim/build.sh [x64|aarch64] [--test]
#
#   x64      native build on an x86-64 machine (default)
#   aarch64  native on an aarch64 machine (e.g. a Raspberry Pi 5), otherwise a cross
#            build with Debian's g++-aarch64-linux-gnu (tests then run under qemu-user)
#   --test   run the ctest suite after building
#
# Environment: HS_WITH_HAILORT=AUTO|ON|OFF (default AUTO), CMAKE_BUILD_TYPE (default
# Release), HS_CMAKE_ARGS (extra cmake arguments), HS_QEMU_FULL=1 (run the threaded
# tests under qemu-user too).
# The last line printed is the absolute path of the built library.
set -euo pipefail

usage() {
    sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}

arch="x64"
run_tests=0
for a in "$@"; do
    case "$a" in
        x64|amd64|x86_64) arch="x64" ;;
        aarch64|arm64) arch="aarch64" ;;
        --test) run_tests=1 ;;
        -h|--help) usage 0 ;;
        *) echo "build.sh: unknown argument '$a'" >&2; usage ;;
    esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="$root/build/native-shim/$arch"
host="$(uname -m)"
jobs="$(nproc 2>/dev/null || echo 2)"

args=(-S "$here" -B "$build"
      -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}"
      -DHS_WITH_HAILORT="${HS_WITH_HAILORT:-AUTO}")
if [[ ! -f "$build/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then
    args+=(-G Ninja)
fi

cross=0
case "$arch" in
    x64)
        if [[ "$host" != "x86_64" ]]; then
            echo "build.sh: x64 builds need an x86-64 machine (this one is $host)" >&2
            exit 2
        fi
        ;;
    aarch64)
        if [[ "$host" != "aarch64" ]]; then
            cross=1
            if ! command -v aarch64-linux-gnu-g++ >/dev/null 2>&1; then
                echo "build.sh: aarch64-linux-gnu-g++ not found; install it with: apt-get install -y g++-aarch64-linux-gnu" >&2
                exit 2
            fi
            args+=(-DCMAKE_TOOLCHAIN_FILE="$here/cmake/aarch64-linux-gnu.cmake")
        fi
        ;;
esac
if [[ -n "${HS_CMAKE_ARGS:-}" ]]; then
    read -r -a extra <<< "$HS_CMAKE_ARGS"
    args+=("${extra[@]}")
fi

cmake "${args[@]}"
cmake --build "$build" -j "$jobs"

if [[ $run_tests -eq 1 ]]; then
    ctest_args=(--test-dir "$build" --output-on-failure -j "$jobs")
    if [[ $cross -eq 1 ]]; then
        if ! grep -q '^HS_QEMU_AARCH64:FILEPATH=/' "$build/CMakeCache.txt"; then
            echo "build.sh: cannot run aarch64 tests here: qemu-aarch64 not found (apt-get install -y qemu-user)" >&2
            exit 2
        fi
        if [[ "${HS_QEMU_FULL:-0}" != "1" ]]; then
            # qemu-user (Debian 12's 7.2) hangs in clone() for dynamically linked
            # aarch64 programs on some hosts, so cases that start threads or
            # processes are left out here; they run natively on x64 and on the Pi.
            echo "build.sh: under qemu-user the ctest label 'threads' is excluded (HS_QEMU_FULL=1 runs it)"
            ctest_args+=(-LE threads)
        fi
    fi
    ctest "${ctest_args[@]}"
fi

lib="$build/libhailo_shim.so"
if [[ ! -f "$lib" ]]; then
    echo "build.sh: $lib was not produced" >&2
    exit 1
fi
echo "$lib"
