"""The volunteers' Telegram bot (python-telegram-bot): consent and profile, recording prompted
sentences, validating other volunteers' clips, stats, language and erasure.

Handlers are thin: writes go through collection.services and reads through collection.selectors.
`application.build_application` assembles the bot for polling (`manage.py run_telegram_bot`) and
for the webhook view (`webhook.telegram_webhook`)."""
