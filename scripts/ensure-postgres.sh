#!/usr/bin/env bash
# Starts the local PostgreSQL cluster if it is installed and not answering on 127.0.0.1:5432.
set -uo pipefail
if (echo > /dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  exit 0
fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  version="$(ls /etc/postgresql | head -n1)"
  echo "starting PostgreSQL $version …" >&2
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do
    (echo > /dev/tcp/127.0.0.1/5432) 2>/dev/null && exit 0
    sleep 1
  done
  echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2
  exit 1
fi
echo "PostgreSQL is not running on 127.0.0.1:5432 (tests that need it will fail)" >&2
