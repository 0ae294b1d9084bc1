#!/usr/bin/env bash
# Install the Debian packages the test suite needs, skipping those already installed (idempotent).
#   redis-server              the Celery broker of the distributed deployment test (tests/distributed)
#   chromium chromium-driver  the browser test of the Airflow UI
#   postgresql                the metadata database of the distributed deployment test (often preinstalled)
# Runs `apt-get update` only when something is missing. Needs root (or sudo-less root-like rights) to install.
set -euo pipefail

PACKAGES=(redis-server chromium chromium-driver postgresql)

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

missing=()
for package in "${PACKAGES[@]}"; do
    installed "$package" || missing+=("$package")
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "system packages: all present (${PACKAGES[*]})"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system packages: missing ${missing[*]}, and this machine has no apt-get; install them by hand" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "system packages: missing ${missing[*]}; run as root: sudo bash scripts/system_packages.sh" >&2
    exit 1
fi

echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt/dpkg run (up to 10 minutes) instead of failing on its lock.
APT=(apt-get -o DPkg::Lock::Timeout=600 -q)
"${APT[@]}" update
# --no-upgrade: an installed package (e.g. a preinstalled postgresql) is never upgraded by this script.
"${APT[@]}" install -y --no-install-recommends --no-upgrade "${missing[@]}"
