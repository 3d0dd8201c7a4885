#!/usr/bin/env bash
# The README's first command: install, prepare and start the web app and a worker on
# http://127.0.0.1:8000. With no servers it runs on SQLite, a file-backed broker and an in-memory
# channel layer; set DATABASE_URL, REDIS_URL and CELERY_BROKER_URL to use real servers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh requirements.txt

PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
LOG_DIR="${UZWHISPER_VAR_DIR:-var}/log"
mkdir -p "$LOG_DIR"
$PY manage.py migrate --no-input
$PY manage.py create_demo_admin
# The starter sentences for the recorder and the bot (CC0); already imported ones are skipped.
$PY manage.py import_prompts collection/data/starter_prompts.csv \
  --source "uzwhisper starter set, CC0 (collection/data/LICENSE.md)" > /dev/null

echo "==> Starting a transcription worker (log: $LOG_DIR/worker.log)"
# One process, one job at a time, model held in it: right for a laptop. Production runs
# `celery -A uzwhisper worker -Q asr` replicas instead (deploy/).
.venv/bin/celery -A uzwhisper worker -Q "${CELERY_ASR_QUEUE:-asr},default" --pool solo --loglevel INFO \
  > "$LOG_DIR/worker.log" 2>&1 &
worker=$!
children="$worker"
if [ -n "${REDIS_URL:-}" ]; then
  # With a shared channel layer live sessions run in their own process; without one the web
  # process runs them itself.
  echo "==> Starting a live-stream worker (log: $LOG_DIR/stream-worker.log)"
  $PY manage.py run_stream_worker > "$LOG_DIR/stream-worker.log" 2>&1 &
  children="$children $!"
fi
if [ -n "${TELEGRAM_BOT_TOKEN:-}" ] && [ -z "${TELEGRAM_WEBHOOK_SECRET:-}" ]; then
  # With a token and no webhook, the volunteers' bot polls Telegram (one process, never two).
  echo "==> Starting the Telegram bot (log: $LOG_DIR/telegram-bot.log)"
  $PY manage.py run_telegram_bot > "$LOG_DIR/telegram-bot.log" 2>&1 &
  children="$children $!"
fi
trap 'kill $children 2>/dev/null; wait $children 2>/dev/null' EXIT INT TERM

echo "==> Serving http://$HOST:$PORT/ (Ctrl+C stops everything)"
# A WebSocket still open (a job page, a live stream) would otherwise hold Ctrl+C indefinitely.
.venv/bin/uvicorn uzwhisper.asgi:application --host "$HOST" --port "$PORT" --log-level info \
  --timeout-graceful-shutdown 5
