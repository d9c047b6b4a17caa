#!/usr/bin/env bash
# Install Debian's Chromium for the real-browser UI test, when we are root and it is missing.
set -u
command -v chromium >/dev/null 2>&1 && exit 0
[ "$(id -u)" = 0 ] || exit 1
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1
command -v chromium >/dev/null 2>&1
