#!/usr/bin/env bash
# The alert-rule tests (promtool test rules) and the Prometheus end-to-end test use Debian's
# `prometheus` package: /usr/bin/prometheus and /usr/bin/promtool. Installed here when missing;
# a failure is loud (exit 1), never a skip.
set -euo pipefail
if [ -x /usr/bin/promtool ] && [ -x /usr/bin/prometheus ]; then exit 0; fi
echo "Prometheus is missing; installing Debian's prometheus" >&2
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
# --no-install-recommends: no exporters or web assets we do not use; the package's service is
# not started (no init system here), the tests start their own prometheus.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
test -x /usr/bin/promtool && test -x /usr/bin/prometheus || {
  echo "FATAL: could not install Debian's prometheus (promtool)" >&2
  exit 1
}
