#!/usr/bin/env bash
# Prints the path of a Chromium for the browser tests (Playwright never downloads a browser
# here). The tests run this only when a browser test is selected (tests/browser/conftest.py).
# CHROMIUM=/path wins; else chromium or chromium-browser on PATH or in the usual places; else,
# where apt-get exists, Debian's chromium is installed. Anything else fails loudly.
set -euo pipefail

find_chromium() {
  local name path
  if [ -n "${CHROMIUM:-}" ]; then
    [ -x "$CHROMIUM" ] && echo "$CHROMIUM" && return 0
    echo "FATAL: CHROMIUM=$CHROMIUM is not an executable" >&2
    exit 1
  fi
  for name in chromium chromium-browser; do
    if command -v "$name" 2>/dev/null; then return 0; fi
  done
  for path in /usr/bin/chromium /usr/bin/chromium-browser /usr/local/bin/chromium \
    /opt/homebrew/bin/chromium /Applications/Chromium.app/Contents/MacOS/Chromium; do
    if [ -x "$path" ]; then echo "$path"; return 0; fi
  done
  return 1
}

if find_chromium; then exit 0; fi
command -v apt-get >/dev/null ||
  { echo "FATAL: Chromium is missing: install it, or set CHROMIUM=/path/to/chromium" >&2; exit 1; }
echo "Chromium is missing; installing Debian's chromium" >&2
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq >&2
# fonts-noto-cjk: the storefront speaks Chinese; without a CJK font its screenshots show boxes
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >&2
find_chromium || { echo "FATAL: could not install chromium" >&2; exit 1; }
