#!/usr/bin/env bash
# .ci/install-deps: which way it gets root and where the .NET 10 SDK comes from, for every kind of machine the README
# names (Debian 12 and 13 on amd64, 64-bit Raspberry Pi OS, which says debian 12/13 on arm64), as root or not, with
# or without sudo. The decisions are checked as functions (lib/setup.sh, which the script uses), and the script itself
# is run as an unprivileged user with and without a sudo on its PATH: nothing is installed or downloaded.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/.ci/lib/setup.sh"
passed=0 failed=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1: expected '$2', got '$3'"; fi
}

# Root: how the script gets it.
check "root, no sudo" none "$(install_elevation 0 no)"
check "root, sudo" none "$(install_elevation 0 yes)"
check "user, sudo" sudo "$(install_elevation 1000 yes)"
check "user, no sudo" fail "$(install_elevation 1000 no)"

# The SDK: os-release ID/VERSION_ID and dpkg architecture of each target, without an SDK.
check "Debian 12 amd64" apt "$(dotnet_route amd64 debian 12 '')"
check "Debian 13 amd64" apt "$(dotnet_route amd64 debian 13 '')"
check "Raspberry Pi OS 12 arm64" apt "$(dotnet_route arm64 debian 12 '')"
check "Raspberry Pi OS 13 arm64" apt "$(dotnet_route arm64 debian 13 '')"
check "Debian 11 amd64 (no feed for .NET 10)" script "$(dotnet_route amd64 debian 11 '')"
check "Ubuntu 24.04 arm64" script "$(dotnet_route arm64 ubuntu 24.04 '')"
check "32-bit Raspberry Pi OS" unsupported "$(dotnet_route armhf raspbian 12 '')"
check "SDK 10 installed" none "$(dotnet_route amd64 debian 12 10)"
check "SDK 11 installed" none "$(dotnet_route arm64 debian 13 11)"
check "only SDK 8 installed" apt "$(dotnet_route amd64 debian 12 8)"
check "SDK 8 on a 32-bit Pi" unsupported "$(dotnet_route armhf raspbian 12 8)"

# The commands: Microsoft's feed for the Debian release the machine runs, dotnet-install.sh channel 10.0 otherwise.
apt12=$(dotnet_route_command apt 12) apt13=$(dotnet_route_command apt 13) script=$(dotnet_route_command script 24.04)
check "Debian 12 feed" yes "$([[ $apt12 == *packages.microsoft.com/config/debian/12/packages-microsoft-prod.deb* && $apt12 == *"apt-get install -y -q dotnet-sdk-10.0" ]] && echo yes)"
check "Debian 13 feed" yes "$([[ $apt13 == *packages.microsoft.com/config/debian/13/packages-microsoft-prod.deb* ]] && echo yes)"
check "install script" yes "$([[ $script == *dot.net/v1/dotnet-install.sh* && $script == *"--channel 10.0"* && $script == *"ln -sf /usr/share/dotnet/dotnet /usr/local/bin/dotnet" ]] && echo yes)"
check "downloads time out" yes "$([[ $apt12 == *"--connect-timeout"* && $script == *"--connect-timeout"* ]] && echo yes)"
check "no command for none" 1 "$(dotnet_route_command none 12 >/dev/null; echo $?)"

# libFLAC's package by Debian release (its soname changed from 12 to 14).
check "libFLAC on Debian 12" libflac12 "$(flac_package 12)"
check "libFLAC on Debian 13" libflac14 "$(flac_package 13)"

# SDK versions as `dotnet --list-sdks` prints them.
check "sdk major of two" 10 "$(printf '8.0.404 [/usr/share/dotnet/sdk]\n10.0.401 [/usr/share/dotnet/sdk]\n' | sdk_major)"
check "sdk major of none" "" "$(printf '' | sdk_major)"

# The script itself as an unprivileged user (it must not need sudo to say what it would do, and must not run apt).
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
  tmp=$(mktemp -d); chmod 755 "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  mkdir "$tmp/nosudo" "$tmp/sudo"
  for t in bash dirname id sed sort tail env cat dpkg; do ln -s "$(command -v $t)" "$tmp/nosudo/$t"; ln -s "$(command -v $t)" "$tmp/sudo/$t"; done
  printf '#!/bin/sh\necho "sudo $*"\n' > "$tmp/sudo/sudo"; chmod 755 "$tmp/sudo/sudo"
  out=$(runuser -u nobody -- env PATH="$tmp/nosudo" HAILO_SDK_MAJOR= "$repo/.ci/install-deps" 2>&1); rc=$?
  check "user without sudo: exit 1" 1 "$rc"
  check "user without sudo: says to run as root" "install-deps: needs root and sudo is not installed; run as root: su -c $repo/.ci/install-deps" "$out"
  out=$(runuser -u nobody -- env PATH="$tmp/sudo" HAILO_SDK_MAJOR=10 "$repo/.ci/install-deps" 2>&1)
  check "user with sudo: re-runs itself through sudo" "sudo --preserve-env=CI,HAILO_SDK_MAJOR $repo/.ci/install-deps" "$out"
  out=$(runuser -u nobody -- env PATH="$tmp/nosudo" HAILO_SDK_MAJOR= "$repo/.ci/install-deps" --plan 2>&1)
  check "plan without sudo" "root: fail" "$(head -1 <<<"$out")"
  out=$(env PATH="$tmp/nosudo" HAILO_SDK_MAJOR=10 "$repo/.ci/install-deps" --plan 2>&1)
  check "plan as root with SDK 10" "root: none|dotnet: none (SDK 10 installed)" "$(paste -sd'|' <<<"$out")"
else
  echo "skipped: the script as an unprivileged user (needs root to switch to nobody)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
