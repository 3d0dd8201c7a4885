"""Uzbek/Russian text normalisation: script, apostrophes, numbers, and the scoring normaliser.

Django-free. Three public functions:

- ``to_uzbek_latin``: Uzbek Cyrillic to Uzbek Latin (the 1995 alphabet in use today: sh, ch,
  oʻ, gʻ), apostrophes written as alifbo writes them: ʻ (U+02BB) in oʻ/gʻ and ʼ (U+02BC) for the
  tutuq belgisi.
- ``numbers_to_words``: digits to words in Uzbek (our speller: num2words has no Uzbek) or
  Russian (num2words).
- ``normalize_for_scoring``: the one normaliser applied to references and hypotheses before
  WER/CER, everywhere (evaluation, training, the web report).

Libraries: alifbo does the transliteration (positional е → ye/e, ь before a vowel → y, с+ҳ →
sʼh, URLs and e-mails left alone, 2026 letters ş ç ö ğ folded back to sh ch oʻ gʻ); alifbe
supplies the wider apostrophe look-alike set and the Turkish dotted/dotless I repair. What
they lack is added here: ц after a consonant → s (``концерт`` → ``konsert``; alifbo writes
``kontsert``), ъ before е/ё/ю/я dropped as in Latin spelling (``объект`` → ``obyekt``; alifbo
writes ``obʼyekt``), ўъ → oʻ (``мўъжиза`` → ``moʻjiza``), and Cyrillic stress marks removed
(alifbe would read a stray U+0301 as an apostrophe).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

import alifbe
import alifbo
from num2words import num2words

from uzwhisper.asr.languages import SUPPORTED_LANGUAGES

__all__ = ["normalize_for_scoring", "numbers_to_words", "to_uzbek_latin"]

LANGUAGES = SUPPORTED_LANGUAGES
# Labels callers use for "not one language": treated like None.
_UNDECIDED_LANGUAGES = ("auto", "mixed", "")

# The one apostrophe left in scoring text, for oʻ/gʻ and the tutuq belgisi alike: ISSAI writes
# o', UzbekVoice oʻ, Whisper either; ASCII keeps reports readable.
SCORING_APOSTROPHE = "'"

# Every character seen standing in for an Uzbek apostrophe (alifbe's list plus ours).
APOSTROPHE_LIKE = frozenset(
    "'`´ʹʺʻʼʽʾʿˈˊˮ′＇"  # ASCII, accents, modifier letters, primes
    "\u2018\u2019\u201a\u201b"  # ‘ ’ ‚ ‛
)

_CYRILLIC_VOWELS = "аеёиоуўэюяы"
_CYRILLIC_CONSONANTS = "бвгджзйклмнпрстфхцчшщқғҳ"
_STRESS_MARKS = re.compile("(?<=[\u0400-\u04ff])[\u0300\u0301]")
_TSE_AFTER_CONSONANT = re.compile(f"(?<=[{_CYRILLIC_CONSONANTS}])ц", re.IGNORECASE)
_HARD_SIGN_BEFORE_IOTATED = re.compile("([ъЪ])([еЕёЁюЮяЯ])")
_HARD_SIGN_AFTER_U = re.compile("([ўЎ])[ъЪ]")
# An apostrophe look-alike with no letter before it is an opening quote, not part of a word:
# alifbo would turn it into ʼ, so it is parked on a private-use character meanwhile.
_PARKING_BASE = 0xF0000


def _has_cyrillic(text: str) -> bool:
    return any("\u0400" <= character <= "\u04ff" for character in text)


def _prepare_cyrillic(text: str) -> str:
    """The Uzbek Latin spelling rules alifbo does not apply, expressed on the Cyrillic side."""
    text = _STRESS_MARKS.sub("", text)

    def tse(match: re.Match[str]) -> str:
        return "С" if match.group(0).isupper() else "с"

    text = _TSE_AFTER_CONSONANT.sub(tse, text)

    def hard_sign(match: re.Match[str]) -> str:
        # ъе reads "ye" in Latin: й before е yields y + e (е after a consonant is e).
        vowel = match.group(2)
        if vowel in "еЕ":
            return ("Й" if match.group(1).isupper() else "й") + vowel
        return vowel

    text = _HARD_SIGN_BEFORE_IOTATED.sub(hard_sign, text)
    return _HARD_SIGN_AFTER_U.sub(lambda match: match.group(1), text)


def _park_opening_quotes(text: str) -> tuple[str, dict[str, str]]:
    parked: dict[str, str] = {}
    output: list[str] = []
    previous = ""
    for character in text:
        if character in APOSTROPHE_LIKE and not previous.isalpha():
            placeholder = chr(_PARKING_BASE + len(parked))
            parked[placeholder] = character
            output.append(placeholder)
        else:
            output.append(character)
        previous = character
    return "".join(output), parked


def to_uzbek_latin(text: str) -> str:
    """Uzbek text in any script to Uzbek Latin with one apostrophe convention.

    Cyrillic letters are transliterated by Uzbek rules (ў→oʻ, қ→q, ғ→gʻ, ҳ→h, х→x, ш→sh,
    ч→ch, ё/ю/я→yo/yu/ya, е→ye at a word start and after a vowel or ъ/ь else e, ц→s at a word
    start or after a consonant else ts, ъ→ʼ, ь dropped or y before a vowel). Latin text keeps
    its letters; apostrophe look-alikes after a letter become ʻ (U+02BB) after o/g and ʼ
    (U+02BC) elsewhere; 2026-alphabet letters ş ç ö ğ become sh ch oʻ gʻ; Turkish İ/ı become
    I/i. Case is kept.

    Precondition: the text is Uzbek. Russian Cyrillic is transliterated by the same rules
    (``привет`` → ``privet``); callers with mixed text decide per word (see
    ``normalize_for_scoring``). Digits are left alone.
    """
    if not text:
        return text
    text = alifbe.fix_turkish_i_corruption(unicodedata.normalize("NFC", text))
    if _has_cyrillic(text):
        text = _prepare_cyrillic(text)
    text, parked = _park_opening_quotes(text)
    text = alifbe.normalize_apostrophes(text)
    new_latin = alifbo.from_cyrillic(text).text
    latin = alifbo.to_old_latin(new_latin).text
    for placeholder, original in parked.items():
        latin = latin.replace(placeholder, original)
    return latin


# --- numbers ---------------------------------------------------------------------------------

_UZ_UNITS = ("nol", "bir", "ikki", "uch", "toʻrt", "besh", "olti", "yetti", "sakkiz", "toʻqqiz")
_UZ_TENS = (
    "",
    "oʻn",
    "yigirma",
    "oʻttiz",
    "qirq",
    "ellik",
    "oltmish",
    "yetmish",
    "sakson",
    "toʻqson",
)
_UZ_SCALES = ((10**12, "trillion"), (10**9, "milliard"), (10**6, "million"), (10**3, "ming"))
# Longer digit strings are read digit by digit (phone numbers, codes): no one says them whole.
_MAX_WHOLE_DIGITS = 15


def _uz_below_thousand(number: int) -> list[str]:
    hundreds, rest = divmod(number, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if hundreds:
        # "yuz" alone for 100, as spoken; "bir yuz" is the formal (cheque) form.
        words += ["yuz"] if hundreds == 1 else [_UZ_UNITS[hundreds], "yuz"]
    if tens:
        words.append(_UZ_TENS[tens])
    if units:
        words.append(_UZ_UNITS[units])
    return words


def uzbek_cardinal(number: int) -> str:
    """A non-negative integer in Uzbek Latin words: 2018 → "ikki ming oʻn sakkiz".

    100 is "yuz" and 1000 "ming" (not "bir yuz", "bir ming"); a million and above take "bir".
    Scales go up to trillion; larger numbers raise ValueError.
    """
    if number < 0:
        raise ValueError(f"negative number: {number}")
    if number >= 10**15:
        raise ValueError(f"number too large to spell: {number}")
    if number == 0:
        return _UZ_UNITS[0]
    words: list[str] = []
    rest = number
    for scale, name in _UZ_SCALES:
        count, rest = divmod(rest, scale)
        if count:
            if scale == 1000 and count == 1:
                words.append(name)
            else:
                words += [*_uz_below_thousand(count), name]
    words += _uz_below_thousand(rest)
    return " ".join(words)


def _uz_decimal(whole: str, fraction: str) -> str:
    # 3.25 is read "uch butun yuzdan yigirma besh": three whole, of hundredths twenty-five.
    denominator = uzbek_cardinal(10 ** len(fraction)).removeprefix("bir ")
    return f"{uzbek_cardinal(int(whole))} butun {denominator}dan {uzbek_cardinal(int(fraction))}"


def _russian_percent(whole: str, fraction: str | None) -> str:
    if fraction:
        return "процента"
    number = int(whole)
    if number % 100 in (11, 12, 13, 14):
        return "процентов"
    return {1: "процент", 2: "процента", 3: "процента", 4: "процента"}.get(number % 10, "процентов")


def _digit_by_digit(digits: str, language: str) -> str:
    if language == "uz":
        return " ".join(_UZ_UNITS[int(digit)] for digit in digits)
    return " ".join(num2words(int(digit), lang="ru") for digit in digits)


def _spell(whole: str, fraction: str | None, language: str) -> str:
    if (len(whole) > 1 and whole.startswith("0")) or len(whole) > _MAX_WHOLE_DIGITS:
        spelled = _digit_by_digit(whole, language)
        if fraction:
            spelled += " " + _digit_by_digit(fraction, language)
        return spelled
    if language == "uz":
        return _uz_decimal(whole, fraction) if fraction else uzbek_cardinal(int(whole))
    value = f"{whole}.{fraction}" if fraction else whole
    try:
        return str(num2words(Decimal(value), lang="ru"))
    except (InvalidOperation, OverflowError):  # pragma: no cover - bounded above
        return _digit_by_digit(whole + (fraction or ""), language)


# A number: digits with optional thousands groups (a space, no-break or thin space, or two or
# more dot-separated groups of three) and an optional decimal part after "," or "."; then an
# optional percent sign.
_NUMBER = re.compile(
    r"(?<!\d)"
    r"(?P<whole>\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+(?!\d)|\d{1,3}(?:\.\d{3}){2,}|\d+)"
    r"(?:[.,](?P<fraction>\d+))?"
    r"(?P<percent>\s?%)?"
)


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")


def _number_words(match: re.Match[str], language: str) -> str:
    whole = re.sub(r"\D", "", match.group("whole"))
    fraction = match.group("fraction")
    words = _spell(whole, fraction, language)
    if match.group("percent"):
        words += " foiz" if language == "uz" else " " + _russian_percent(whole, fraction)
    # Keep numbers apart from letters glued to them on the left ("N5" → "N besh").
    start = match.start()
    if start > 0 and match.string[start - 1].isalpha():
        words = " " + words
    return words


def numbers_to_words(text: str, language: str) -> str:
    """Write every number in ``text`` out in words, in Uzbek ("uz") or Russian ("ru").

    Handled: non-negative integers (Uzbek up to 999 trillion; Russian via num2words), decimals
    with "," or "." (uz "uch butun oʻndan besh", ru "три целых пять десятых"), thousands
    grouped in threes by a space (also no-break or thin) or by two or more dots (2 000 000,
    1.000.000), a trailing "%" (uz
    "foiz", ru "процент/процента/процентов"), and digit strings with a leading zero or more
    than 15 digits (read digit by digit). Suffixes stay as written: "2018-yil" → "ikki ming
    oʻn sakkiz-yil" (the UzbekVoice transcription convention), "5ta" → "beshta".

    Not handled: ordinals and case agreement (Russian "5-й", "в 2018 году" come out as
    cardinals in the nominative; Uzbek "5-sinf" stays cardinal), negative signs (the "-" is
    left in place), fractions like 1/2, Roman numerals, dates/times as such (10:30 becomes
    two numbers), currencies other than via surrounding words; numbers listed with spaces
    read as one when every later group has three digits ("5 100" is 5100).
    Raises ValueError for a language other than "uz"/"ru".
    """
    _check_language(language)
    return _NUMBER.sub(lambda match: _number_words(match, language), text)


# --- scoring ---------------------------------------------------------------------------------

_WORD_CHARACTER_CATEGORIES = ("L", "M", "N")


def _unify_apostrophes(text: str) -> str:
    """Keep an apostrophe only where it is part of a word; write it as SCORING_APOSTROPHE.

    Part of a word: between two letters (oʻzbek, sanʼat), or right after a word-final o/g
    (bogʻ, togʻ). Anywhere else it was a quotation mark and goes.
    """
    output: list[str] = []
    length = len(text)
    for index, character in enumerate(text):
        if character not in APOSTROPHE_LIKE:
            output.append(character)
            continue
        before = text[index - 1] if index > 0 else ""
        after = text[index + 1] if index + 1 < length else ""
        if before.isalpha() and (after.isalpha() or before in "ogOG"):
            output.append(SCORING_APOSTROPHE)
        else:
            output.append(" ")
    return "".join(output)


def _strip_punctuation(text: str) -> str:
    output = []
    for character in text:
        category = unicodedata.category(character)[0]
        if category in _WORD_CHARACTER_CATEGORIES or character == SCORING_APOSTROPHE:
            output.append(character)
        else:
            output.append(" ")
    return "".join(output)


def _by_word_language(text: str) -> list[tuple[str, str]]:
    """Cut text into runs of one language, decided per word by the word tagger.

    Words tagged "other" (numbers, names, punctuation) join the language of the nearest
    tagged word before them, else after them, else the text's majority (Uzbek on a tie or
    when no word is tagged: the project's default). Returns (run text, language) pairs whose
    texts concatenate back to ``text``.
    """
    from uzwhisper.lib.langid import tag_words  # the tagger loads its model on first use

    pieces = re.split(r"(\s+)", text)
    words = pieces[0::2]
    tags = tag_words(words)
    counts = {language: tags.count(language) for language in LANGUAGES}
    majority = "ru" if counts["ru"] > counts["uz"] else "uz"
    languages: list[str] = []
    for index, tag in enumerate(tags):
        if tag in LANGUAGES:
            languages.append(tag)
            continue
        before = next((t for t in reversed(tags[:index]) if t in LANGUAGES), None)
        after = next((t for t in tags[index + 1 :] if t in LANGUAGES), None)
        languages.append(before or after or majority)
    runs: list[tuple[str, str]] = []
    for index, piece in enumerate(pieces):
        language = languages[index // 2] if index % 2 == 0 else runs[-1][1]
        if runs and runs[-1][1] == language:
            runs[-1] = (runs[-1][0] + piece, language)
        else:
            runs.append((piece, language))
    return runs


def normalize_for_scoring(text: str, language: str | None = None) -> str:
    """The normaliser applied to both reference and hypothesis before WER/CER.

    Steps: NFC; Turkish İ/ı repaired; Cyrillic stress marks dropped; numbers to words in
    ``language``; for Uzbek, Cyrillic transliterated to Latin (``to_uzbek_latin``); lower
    case; ё → е in the Cyrillic left (Russian spelling optional ё); apostrophe look-alikes
    (ʻ ʼ ’ ‘ ` ' …) inside a word or after a word-final o/g written as one ASCII ' (so ISSAI's
    o'zbek and UzbekVoice's oʻzbek compare equal), all others dropped; hyphens and every
    other punctuation or symbol become spaces; whitespace collapsed.

    ``language``: "uz" transliterates all Cyrillic (the same on both sides of a comparison,
    so Russian words in an Uzbek reference still compare equal to themselves); "ru" keeps
    Cyrillic; None ("auto" and "mixed" alike) decides per word with the word tagger
    (``uzwhisper.lib.langid.tag_words``): words tagged Uzbek are transliterated, Russian ones
    kept, and numbers and other untagged tokens follow their neighbours' language. Any other
    label raises ValueError.
    """
    if language in _UNDECIDED_LANGUAGES:
        language = None
    if language is not None:
        _check_language(language)
    text = alifbe.fix_turkish_i_corruption(unicodedata.normalize("NFC", text))
    text = _STRESS_MARKS.sub("", text)
    runs = [(text, language)] if language is not None else _by_word_language(text)
    converted = []
    for run, run_language in runs:
        run = numbers_to_words(run, run_language)
        converted.append(to_uzbek_latin(run) if run_language == "uz" else run)
    text = "".join(converted)
    text = text.lower().replace("ё", "е")
    text = _unify_apostrophes(text)
    text = _strip_punctuation(text)
    return " ".join(text.split())
