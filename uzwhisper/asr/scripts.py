"""Script guards: each language's alphabet, the Whisper tokens a decode in that language may not
produce (suppressed while decoding), and the clean-up of what still gets through. Django-free."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


def _byte_level_alphabet() -> dict[str, int]:
    """The byte each character of a byte-level BPE token stands for (GPT-2's scheme: printable
    bytes are themselves, the other bytes are shifted past 255 in order)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    alphabet = {chr(byte): byte for byte in printable}
    shifted = 0
    for byte in range(256):
        if byte not in alphabet.values():
            alphabet[chr(256 + shifted)] = byte
            shifted += 1
    return alphabet


# Code points a transcript can hold, as half-open ranges: what both languages share, then each
# language's own letters. Uzbek is written in its official Latin alphabet (ASCII letters with
# oʻ, gʻ and the ʼ sign); Russian in Cyrillic, with ASCII for names such as "Asterisk".
SHARED_CODE_POINTS = (
    (0x00, 0x80),  # ASCII: Latin letters, digits, punctuation
    *((ord(sign), ord(sign) + 1) for sign in "\u00a0«»°‘’‚“”„–—…№"),
)
LANGUAGE_CODE_POINTS = {
    "uz": ((0x2BB, 0x2BD),),  # ʻ and ʼ
    "ru": ((0x400, 0x500),),  # Cyrillic
}


# ʻ (in oʻ, gʻ) and the ʼ sign follow a letter; at a word's start they are noise Whisper adds.
_STRAY_APOSTROPHES = re.compile(r"(?<![^\W\d_])[ʻʼ]+")


def clean_text(text: str, *, language: str) -> str:
    """The text without characters its language's alphabet lacks (a few still get through the
    token guard spelled byte by byte: † is the bytes of ’ and of a no-break space) and without
    ʻ or ʼ where no letter comes before them."""
    ranges = SHARED_CODE_POINTS + LANGUAGE_CODE_POINTS.get(language, ())
    kept = "".join(char for char in text if any(start <= ord(char) < end for start, end in ranges))
    if language == "uz":
        kept = _STRAY_APOSTROPHES.sub("", kept)
    return " ".join(kept.split())


@dataclass(frozen=True)
class _ByteAlphabet:
    """The UTF-8 pieces of an alphabet, for judging tokens that hold only part of a character."""

    ranges: tuple[tuple[int, int], ...]
    heads: frozenset[bytes]  # a character's first bytes, without its last
    tails: frozenset[bytes]  # a character's bytes from the second on (middles included)

    @classmethod
    def of(cls, ranges: tuple[tuple[int, int], ...]) -> _ByteAlphabet:
        heads: set[bytes] = set()
        tails: set[bytes] = set()
        for char in cls.multibyte_characters(ranges):
            encoded = char.encode("utf-8")
            heads.update(encoded[:cut] for cut in range(1, len(encoded)))
            tails.update(
                encoded[i:j] for i in range(1, len(encoded)) for j in range(i + 1, len(encoded) + 1)
            )
        return cls(ranges, frozenset(heads), frozenset(tails))

    @staticmethod
    def multibyte_characters(ranges: tuple[tuple[int, int], ...]) -> Iterator[str]:
        """The characters of `ranges` that UTF-8 spells with more than one byte."""
        for start, end in ranges:
            for code_point in range(max(start, 0x80), end):
                yield chr(code_point)

    def holds(self, data: bytes) -> bool:
        """Whether a token's bytes can be part of text in this alphabet: whole characters, with
        perhaps the end of one before them and the start of one after."""
        index = 0
        while index < len(data) and 0x80 <= data[index] < 0xC0:
            index += 1
        if index and data[:index] not in self.tails:
            return False
        while index < len(data):
            lead = data[index]
            length = 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
            char = data[index : index + length]
            if len(char) < length:
                return char in self.heads
            try:
                code_point = ord(char.decode("utf-8"))
            except UnicodeDecodeError:
                return False
            if not any(start <= code_point < end for start, end in self.ranges):
                return False
            index += length
        return True


def foreign_script_tokens(tokenizer: Any) -> dict[str, tuple[int, ...]]:  # tokenizers.Tokenizer
    """For each language, the text tokens its transcript cannot hold: other scripts (Telugu,
    Chinese, IPA …) and other alphabets' letters (ş, ə, ğ for Uzbek). Whisper base, lost in
    Uzbek, wanders into them; suppressing them keeps each decode in its own alphabet.

    A token holding only part of a character (lone UTF-8 bytes) could be the start of an allowed
    character or of a foreign one; it is kept only where the tokenizer itself spells an allowed
    character with it."""
    alphabet = _byte_level_alphabet()
    foreign: dict[str, list[int]] = {}
    for language, own in LANGUAGE_CODE_POINTS.items():
        allowed = _ByteAlphabet.of(SHARED_CODE_POINTS + own)
        spelling = set()
        for char in _ByteAlphabet.multibyte_characters(allowed.ranges):
            for text in (char, f" {char}", f"a{char}"):
                spelling.update(tokenizer.encode(text, add_special_tokens=False).ids)
        foreign[language] = []
        for token_id in range(tokenizer.get_vocab_size()):
            token = tokenizer.id_to_token(token_id)
            if token is None or token.startswith("<|") or not all(c in alphabet for c in token):
                continue  # special and timestamp tokens
            data = bytes(alphabet[char] for char in token)
            if not allowed.holds(data) or (_only_fragments(data) and token_id not in spelling):
                foreign[language].append(token_id)
    return {language: tuple(ids) for language, ids in foreign.items()}


def _only_fragments(data: bytes) -> bool:
    """Whether the token holds no whole character: lone UTF-8 bytes."""
    return not data.decode("utf-8", errors="ignore")
