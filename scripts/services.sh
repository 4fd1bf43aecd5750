#!/usr/bin/env bash
# Starts PostgreSQL and Redis on loopback if they are not running (installing them if absent).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if [ ! -d /etc/postgresql ]; then
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  fi
  echo "==> starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432
psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" \
  | grep -q 1 || psql -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE test" >/dev/null

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
  echo "==> starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 20); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
echo "redis: $(redis-cli -h 127.0.0.1 -p 6379 ping)"

# the email tests start their own Dovecot (tests/channels/email/conftest.py); only the binary here
if ! command -v dovecot >/dev/null && [ ! -x /usr/sbin/dovecot ]; then
  apt-get update -qq && apt-get install -y -qq dovecot-imapd >/dev/null
fi
