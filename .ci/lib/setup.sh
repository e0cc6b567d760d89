# Decisions of .ci/install-deps, as functions of their inputs only (tests/shell/install-deps-decisions.sh checks
# them for every combination; the script feeds them this machine's facts). Source it; it runs nothing.

# How install-deps gets root: install_elevation UID HAS_SUDO(yes|no) -> none | sudo | fail
install_elevation() {
  if [ "$1" -eq 0 ]; then echo none
  elif [ "$2" = yes ]; then echo sudo
  else echo fail
  fi
}

# Where the .NET 10 SDK comes from: dotnet_route ARCH OS_ID OS_VERSION_ID SDK_MAJOR
#   ARCH is dpkg's (amd64, arm64, armhf, ...), OS_ID and OS_VERSION_ID are os-release's ID and VERSION_ID
#   (64-bit Raspberry Pi OS says debian and 12 or 13), SDK_MAJOR the newest installed SDK's major version or "".
# -> none        an SDK 10 or newer is installed
#    apt         Microsoft's Debian package feed (packages.microsoft.com, dotnet-sdk-10.0; amd64 and arm64 packages
#                for Debian 12 and 13)
#    script      Microsoft's dotnet-install.sh --channel 10.0 (64-bit systems the feed does not cover)
#    unsupported a 32-bit system: the services' native libraries are built for amd64 and arm64 only
dotnet_route() {
  local arch=$1 id=$2 version=$3 major=$4
  if [ -n "$major" ] && [ "$major" -ge 10 ] 2>/dev/null; then echo none; return; fi
  case $arch in amd64|arm64) ;; *) echo unsupported; return ;; esac
  if [ "$id" = debian ] && { [ "$version" = 12 ] || [ "$version" = 13 ]; }; then echo apt; else echo script; fi
}

# The shell command (run as root) that installs the SDK by a route; the script runs it, and prints it when it fails.
dotnet_route_command() {
  local route=$1 version=$2 tmp=${TMPDIR:-/tmp}
  case $route in
    apt) echo "curl -fsSL --connect-timeout 10 -o $tmp/packages-microsoft-prod.deb https://packages.microsoft.com/config/debian/$version/packages-microsoft-prod.deb && dpkg -i $tmp/packages-microsoft-prod.deb && apt-get update -q && apt-get install -y -q dotnet-sdk-10.0" ;;
    script) echo "apt-get install -y -q --no-install-recommends libicu-dev libssl-dev libgssapi-krb5-2 zlib1g && curl -fsSL --connect-timeout 10 -o $tmp/dotnet-install.sh https://dot.net/v1/dotnet-install.sh && bash $tmp/dotnet-install.sh --channel 10.0 --install-dir /usr/share/dotnet && ln -sf /usr/share/dotnet/dotnet /usr/local/bin/dotnet" ;;
    *) return 1 ;;
  esac
}

# Debian's package of libFLAC (the flac speech encoder loads it by soname): flac_package OS_VERSION_ID
#   -> libflac12 on Debian 12 (libFLAC.so.12), libflac14 from Debian 13 on (libFLAC.so.14)
flac_package() {
  case $1 in
    12) echo libflac12 ;;
    *) echo libflac14 ;;
  esac
}

# The newest installed SDK's major version ("" without dotnet): sdk_major < "$(dotnet --list-sdks)"
sdk_major() {
  sed -n 's/^\([0-9][0-9]*\)\..*/\1/p' | sort -n | tail -1
}
