#!/usr/bin/env bash
# Make sure a Docker engine answers on /var/run/docker.sock.
# - An engine that already answers is left alone.
# - When dockerd is missing, Debian's docker.io is installed.
# - When no init system manages it (no systemd as PID 1, as in CI
#   containers and some VMs), dockerd is started in the background.
set -euo pipefail

sock=/var/run/docker.sock
if docker version >/dev/null 2>&1; then
    exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
    echo "ensure-docker: installing Debian's docker.io"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    systemctl start docker
else
    echo "ensure-docker: no init system manages dockerd; starting it (log: /var/log/dockerd.log)"
    nohup dockerd >/var/log/dockerd.log 2>&1 &
fi
for _ in $(seq 1 60); do
    if [ -S "$sock" ] && docker version >/dev/null 2>&1; then
        exit 0
    fi
    sleep 1
done
echo "ensure-docker: dockerd did not answer on $sock within 60s; see /var/log/dockerd.log" >&2
exit 1
