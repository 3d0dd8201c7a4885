"""The facts every part of the project shares about audio and languages, defined once."""

from __future__ import annotations

# Whisper hears 16 kHz mono; every decoder, stream and file is brought to this rate.
SAMPLE_RATE = 16_000

# Whisper base guesses Azerbaijani or Turkish for Uzbek speech: detection is restricted to these.
SUPPORTED_LANGUAGES = ("uz", "ru")

# What a job or a stream may ask for. auto: one language for the whole recording, detected
# between Uzbek and Russian; mixed: each stretch of speech gets its own (code-switching).
LANGUAGE_MODES = ("auto", "uz", "ru", "mixed")
LANGUAGE_MODE_LABELS = {
    "auto": "Auto",
    "uz": "Uzbek",
    "ru": "Russian",
    "mixed": "Mixed",
}
# What the pages' language menus say for each mode.
LANGUAGE_MODE_DESCRIPTIONS = {
    "auto": "Detect (Uzbek or Russian)",
    "uz": "Uzbek",
    "ru": "Russian",
    "mixed": "Mixed: Uzbek and Russian in one recording",
}
