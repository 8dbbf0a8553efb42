#!/usr/bin/env bash
# The alert rules' test loads deploy/prometheus/kappa-alerts.yml and runs its
# unit tests with promtool (Debian package prometheus). Install it when it is
# missing; where it cannot be installed the test only parses the rules and
# says so.
set -euo pipefail
command -v promtool >/dev/null 2>&1 && exit 0
"$(dirname "$0")/apt-install.sh" prometheus || echo "promtool is missing: the alert rules test will only parse them" >&2
