#!/bin/bash
# The image's HEALTHCHECK: GET /healthz on the port of FLEET_BIND, through bash's /dev/tcp
# because the slim image has no curl. Exit 0 on HTTP 200, 1 otherwise.
set -u
bind="${FLEET_BIND:-0.0.0.0:8080}"
port="${bind##*:}"
exec 3<>"/dev/tcp/127.0.0.1/${port}" || exit 1
printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
IFS= read -r -t 3 status <&3 || exit 1
case "$status" in
  "HTTP/1."?" 200"*) exit 0 ;;
  *) exit 1 ;;
esac
