#!/usr/bin/env bash
# Installs the Debian 12 packages coffer needs to build, test and benchmark.
# Idempotent: apt-get runs only when something is missing.
set -euo pipefail
pkgs=(gcc clang meson ninja-build pkg-config python3 attr
      libsodium-dev libzstd-dev libsqlite3-dev
      libcurl4-openssl-dev libmicrohttpd-dev libpq-dev libfuse3-dev fuse3
      libclang-rt-14-dev llvm clang-format)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
