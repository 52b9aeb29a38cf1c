#!/usr/bin/env bash
# The browser tests load axe-core (the npm package, pinned with its integrity in
# tests/browser/package-lock.json) into each storefront page. Installs it when missing, and npm
# itself from Debian when that is missing.
set -euo pipefail
cd "$(dirname "$0")/../tests/browser"
if [ -f node_modules/axe-core/axe.min.js ]; then exit 0; fi
if ! command -v npm >/dev/null; then
  echo "npm is missing; installing Debian's npm" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >/dev/null
fi
npm ci --no-audit --no-fund --loglevel=error
test -f node_modules/axe-core/axe.min.js || { echo "FATAL: axe-core did not install" >&2; exit 1; }
