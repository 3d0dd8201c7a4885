#!/usr/bin/env python
"""Measure the word-level language identifier (uzwhisper.lib.langid) on held-out text.

Held-out sources (none used to build the model, see scripts/build_langid_model.py):
- the reference transcripts of ../shared/testdata/speech/manifest.jsonl and
  tests/data/speech/manifest.jsonl (Uzbek: ISSAI USC, UzbekVoice; Russian: Asterisk prompts);
- the Uzbek and Russian translations shipped in the installed Django and Django REST framework
  packages (gettext catalogues: UI messages, a different domain from the training news and
  Tatoeba sentences);
- the Uzbek Cyrillic set is the Uzbek Latin set written in Cyrillic by alifbo.
- Optional (--fitrat-valid FILE, fitrat's valid.txt): a held-out split of the same source the
  model was built from, reported separately because it is the same distribution.

Gold tags: see gold_tag() (the language of the sentence, "other" for a Latin-script word in a
Russian sentence, code tokens and tokens without letters unscored); a "strict" column scores every
token with a letter as its sentence's language.
Switch points are scored on synthetic sentences spliced from held-out Uzbek (Latin or Cyrillic)
and Russian sentences; a predicted switch counts when it is at the exact gold word index.

Usage: .venv/bin/python scripts/benchmark_langid.py [--fitrat-valid PATH] [--mixed N]
"""

from __future__ import annotations

import argparse
import gettext
import json
import random
import re
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import alifbo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from uzwhisper.lib import langid  # noqa: E402

MANIFESTS = (
    ROOT.parent / "shared/testdata/speech/manifest.jsonl",
    ROOT / "tests/data/speech/manifest.jsonl",
)
# Placeholders and markup in gettext messages: %(name)s, %s, {count}, <b>, URLs.
_PLACEHOLDER = re.compile(
    r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|%[-#0 +]*\d*[sdifr]|\{[^}]*\}|<[^>]*>|https?://\S+"
)

Sentence = tuple[list[str], list[str]]
TAGGER: langid.LanguageTagger  # set in main(); tag_words() runs the same code on the shipped data


def manifest_texts(language: str) -> list[str]:
    texts = []
    for path in MANIFESTS:
        if not path.exists():
            continue
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                if entry.get("language") == language:
                    texts.append(entry["text"])
    return sorted(set(texts))


def gettext_texts(language: str) -> list[str]:
    import django
    import rest_framework

    texts: set[str] = set()
    for package in (django, rest_framework):
        root = Path(package.__file__).resolve().parent
        for path in root.glob(f"**/locale/{language}/LC_MESSAGES/*.mo"):
            with path.open("rb") as file:
                catalogue = gettext.GNUTranslations(file)._catalog  # type: ignore[attr-defined]
            for key, value in catalogue.items():
                if key and isinstance(value, str):
                    cleaned = " ".join(_PLACEHOLDER.sub(" ", value).split())
                    if any(character.isalpha() for character in cleaned):
                        texts.add(cleaned)
    return sorted(texts)


def fitrat_valid(path: Path, label: str, limit: int) -> list[str]:
    prefix = f"__label__{label} "
    lines = path.read_text("utf-8").splitlines()
    return [line[len(prefix) :] for line in lines if line.startswith(prefix)][:limit]


UNSCORED = "-"
_EDGES = "\"'“”‘’«»()[]{}.,:;!?…"


def gold_tag(token: str, language: str, *, strict: bool) -> str:
    """The gold tag of one token of a sentence in ``language``.

    No letter: "other", not scored. Code, not a word (after edge punctuation, any character
    other than a letter, apostrophe or hyphen: IPv4, DEBUG=True, .allow_empty): not scored.
    A Latin-script word in a Russian sentence: "other" (a name or term; the tagger's rule).
    Everything else: the sentence's language. ``strict``: every token with a letter is
    scored with the sentence's language, nothing else.
    """
    if not langid.word_key(token):
        return UNSCORED
    if strict:
        return language
    inner = token.strip(_EDGES)
    if any(not (c.isalpha() or c in "'-ʻʼ’‘`") for c in inner):
        return UNSCORED
    if language == langid.RU and langid.script_of(langid.word_key(token)) == "latin":
        return langid.OTHER
    return language


def gold(text: str, language: str, *, strict: bool = False) -> Sentence:
    words = text.split()
    return words, [gold_tag(word, language, strict=strict) for word in words]


def to_cyrillic(texts: Iterable[str]) -> list[str]:
    return [alifbo.to_cyrillic(text).text for text in texts]


def accuracy(sentences: list[Sentence]) -> tuple[float, int, dict[str, int]]:
    right = total = 0
    confusions: dict[str, int] = {}
    for words, truth in sentences:
        for guess, expected in zip(TAGGER.tag(words), truth, strict=True):
            if expected == UNSCORED:
                continue
            total += 1
            if guess == expected:
                right += 1
            else:
                confusions[guess] = confusions.get(guess, 0) + 1
    return right / max(total, 1), total, confusions


def splice(uzbek: list[str], russian: list[str], count: int, rng: random.Random) -> list[Sentence]:
    """uz+ru, ru+uz and uz+ru+uz sentences with every word's gold language."""
    sentences = []
    for index in range(count):
        pattern = (
            ("uz", "ru")
            if index % 3 == 0
            else ("ru", "uz")
            if index % 3 == 1
            else ("uz", "ru", "uz")
        )
        words: list[str] = []
        tags: list[str] = []
        for language in pattern:
            text = rng.choice(uzbek if language == "uz" else russian)
            part_words, part_tags = gold(text, language)
            words += part_words
            tags += part_tags
        sentences.append((words, tags))
    return sentences


def switch_scores(sentences: list[Sentence]) -> tuple[float, float, float, float]:
    true_positive = predicted_total = gold_total = right = words = 0
    for tokens, truth in sentences:
        predicted = TAGGER.tag(tokens)
        expected_points = set(langid.switch_points(truth))  # "-" counts as "other" here
        predicted_points = set(langid.switch_points(predicted))
        true_positive += len(expected_points & predicted_points)
        predicted_total += len(predicted_points)
        gold_total += len(expected_points)
        for guess, expected in zip(predicted, truth, strict=True):
            if expected != UNSCORED:
                words += 1
                right += guess == expected
    precision = true_positive / max(predicted_total, 1)
    recall = true_positive / max(gold_total, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return precision, recall, f1, right / max(words, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fitrat-valid", type=Path, help="fitrat's valid.txt (same-source split)")
    parser.add_argument("--fitrat-limit", type=int, default=500, help="sentences per label")
    parser.add_argument("--mixed", type=int, default=300, help="synthetic mixed sentences")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--data", type=Path, default=langid.DATA_DIR, help="model directory")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.monotonic()
    global TAGGER
    TAGGER = langid.LanguageTagger.load(args.data)

    uz_manifest, ru_manifest = manifest_texts("uz"), manifest_texts("ru")
    uz_ui, ru_ui = gettext_texts("uz"), gettext_texts("ru")
    uz_cyrillic_manifest, uz_cyrillic_ui = to_cyrillic(uz_manifest), to_cyrillic(uz_ui)
    sets: dict[str, tuple[list[str], str]] = {
        "uz-Latin: manifest transcripts": (uz_manifest, "uz"),
        "uz-Latin: Django UI messages": (uz_ui, "uz"),
        "uz-Cyrillic: manifest transcripts (alifbo)": (uz_cyrillic_manifest, "uz"),
        "uz-Cyrillic: Django UI messages (alifbo)": (uz_cyrillic_ui, "uz"),
        "ru: manifest transcripts": (ru_manifest, "ru"),
        "ru: Django + DRF UI messages": (ru_ui, "ru"),
    }
    totals: dict[str, list[tuple[float, int, float, int]]] = {
        "uz-Latin": [],
        "uz-Cyrillic": [],
        "ru": [],
    }
    import django
    import rest_framework

    print("Held-out text (none of it used to build the model):")
    for path in MANIFESTS:
        print(f"  {path} ({'found' if path.exists() else 'missing'})")
    print(f"    -> {len(uz_manifest)} Uzbek and {len(ru_manifest)} Russian reference transcripts")
    print(
        f"  gettext catalogues of Django {django.get_version()} and Django REST framework "
        f"{rest_framework.VERSION}: {len(uz_ui)} Uzbek (Latin) and {len(ru_ui)} Russian messages"
    )
    print("  Uzbek Cyrillic sets: the Uzbek Latin texts converted by alifbo.to_cyrillic")
    if not args.fitrat_valid:
        print("  (fitrat valid.txt not given: --fitrat-valid FILE adds the same-source split)")
    print()
    print("Word-level language identification on held-out text")
    print("  accuracy: gold = sentence language; code tokens unscored; Latin words in Russian")
    print("            sentences gold 'other' (the tagger's rule for names/terms)")
    print("  strict:   gold = sentence language for every token with a letter")
    print(f"{'set':46} {'words':>6} {'accuracy':>9} {'strict':>7}  errors")
    for name, (texts, language) in sets.items():
        score, words, confusions = accuracy([gold(t, language) for t in texts])
        strict, strict_words, _ = accuracy([gold(t, language, strict=True) for t in texts])
        totals[name.split(":")[0]].append((score, words, strict, strict_words))
        print(f"{name:46} {words:6d} {score:9.2%} {strict:7.2%}  {confusions or ''}")
    print()
    for name, parts in totals.items():
        words = sum(part[1] for part in parts)
        score = sum(part[0] * part[1] for part in parts) / max(words, 1)
        strict_words = sum(part[3] for part in parts)
        strict = sum(part[2] * part[3] for part in parts) / max(strict_words, 1)
        print(f"{name + ' (all held-out)':46} {words:6d} {score:9.2%} {strict:7.2%}")

    if args.fitrat_valid:
        print("\nSame-source held-out split (fitrat valid.txt; the model saw fitrat train.txt):")
        for label, tag, name in (
            ("uz_lat", "uz", "uz-Latin"),
            ("uz_cyr", "uz", "uz-Cyrillic"),
            ("rus", "ru", "ru"),
        ):
            texts = fitrat_valid(args.fitrat_valid, label, args.fitrat_limit)
            score, words, confusions = accuracy([gold(t, tag) for t in texts])
            print(f"{'fitrat valid ' + name:46} {words:6d} {score:9.2%}  {confusions or ''}")

    print(f"\nSwitch points on {args.mixed} synthetic sentences per set (uz+ru, ru+uz, uz+ru+uz)")
    print(f"{'set':46} {'P':>7} {'R':>7} {'F1':>7} {'word acc':>9}")
    pairs: list[tuple[str, list[str], list[str]]] = [
        ("transcripts: uz-Latin + ru", uz_manifest, ru_manifest),
        ("transcripts: uz-Cyrillic + ru", uz_cyrillic_manifest, ru_manifest),
        ("UI messages: uz-Latin + ru", uz_ui, ru_ui),
        ("UI messages: uz-Cyrillic + ru", uz_cyrillic_ui, ru_ui),
    ]
    if args.fitrat_valid:
        limit = args.fitrat_limit
        ru_valid = fitrat_valid(args.fitrat_valid, "rus", limit)
        pairs += [
            (f"fitrat valid: {label} + ru", fitrat_valid(args.fitrat_valid, label, limit), ru_valid)
            for label in ("uz_lat", "uz_cyr")
        ]
    for name, uzbek, russian_texts in pairs:
        precision, recall, f1, word_accuracy = switch_scores(
            splice(uzbek, russian_texts, args.mixed, rng)
        )
        print(f"{name:46} {precision:7.2%} {recall:7.2%} {f1:7.2%} {word_accuracy:9.2%}")
    print(f"\n({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
