#!/usr/bin/env bash
# Start PostgreSQL, Redis and RabbitMQ on 127.0.0.1 if they are installed but stopped, and install
# Debian's Chromium for the browser tests if it is missing. Used by the test command only: the app
# itself runs without any of them.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 1; done
  echo "!! nothing answers on 127.0.0.1:$1" >&2; return 1
}

if ! port_open 5432; then
  echo "==> starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  wait_port 5432
fi
if ! port_open 6379; then
  echo "==> starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port 6379
fi
if ! port_open 5672; then
  echo "==> starting RabbitMQ"
  rabbitmq-server -detached
  wait_port 5672
fi
if ! command -v chromium >/dev/null; then
  echo "==> installing Chromium (Debian package) for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
