#!/usr/bin/env bash
# Installs the Debian packages `make test` needs (idempotent; needs root).
#  - building pycurl for ovirt-engine-sdk-python: gcc, libcurl/openssl/libxml2 headers
#  - lab clients used as independent witnesses: ipmitool, fence-agents (fence_ipmilan)
#  - molecule's systemd containers: podman, runc, openssh, uidmap
#  - ansible-test's shellcheck sanity test (skipped without it)
#  - the health report's HTML rendered in a browser: chromium-headless-shell (and a font for its text)
set -euo pipefail
PACKAGES=(
  gcc python3-dev libcurl4-openssl-dev libssl-dev libxml2-dev
  ipmitool fence-agents openssh-client openssh-server
  podman runc uidmap slirp4netns fuse-overlayfs
  shellcheck
  chromium-headless-shell fonts-dejavu-core
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-debian-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-debian-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-debian-deps: all ${#PACKAGES[@]} packages present"
fi
# podman as root in this sandbox: runc (crun fails on hybrid cgroups), modest rlimits.
if [ ! -f /etc/containers/containers.conf ] || ! grep -q 'runtime = "runc"' /etc/containers/containers.conf; then
  mkdir -p /etc/containers
  cat > /etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
[engine]
runtime = "runc"
CONF
fi
