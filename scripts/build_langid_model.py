#!/usr/bin/env python
"""Build the word-level language identifier's data files in uzwhisper/lib/data/.

Sources (build time only; the app reads only the files written here):

- fitrat 0.0.9 (PyPI, MIT, Tahrirchi): language_detector/data/train.txt, labelled sentences in
  Uzbek Latin, Uzbek Cyrillic, Russian and other languages. Downloaded with pip when
  --fitrat-wheel is not given. Its valid.txt is not read (kept for an honest benchmark).
- hunspell-uz (Debian, Uzbek Cyrillic word forms, GPL-2+) and hunspell-ru (Debian,
  Russian stems) .dic files: ``apt-get install -y hunspell-uz hunspell-ru``.

Writes:
- langid_ngrams.tsv.gz: character n-gram counts per class (uz_cyr, uz_lat, ru, other_lat).
- langid_lexicon.tsv.gz: word lists per class (uz_cyr, uz_lat, ru).
- langid_params.json: logistic weights fitted on a held-out tenth of train.txt, and the
  switch probability of the smoother chosen on synthetic mixed sentences from that tenth.

Usage: .venv/bin/python scripts/build_langid_model.py [--fitrat-wheel FILE] [--hunspell DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import alifbo
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from uzwhisper.lib import langid
from uzwhisper.lib.normalize import to_uzbek_latin

Sentence = tuple[list[str], list[str]]  # words and their gold tags

FITRAT = "fitrat==0.0.9"
FITRAT_TRAIN = "fitrat/language_detector/data/train.txt"
# Foreign words in Uzbek/Russian speech transcripts are mostly English, some German and French
# names. Turkish, Spanish and Italian are left out: their short words (son, eski, sana) are
# Uzbek words too.
OTHER_LATIN_LABELS = ("eng", "deu", "fra")
ORDER = 4
# Higher-order n-grams seen fewer times than this are dropped (size; they barely move scores).
MIN_COUNT = 2
CALIBRATION_EVERY = 10  # every 10th sentence of each label is held out for calibration
CHUNK = 2000  # sentences per transliteration call


def fitrat_sentences(wheel: Path | None) -> dict[str, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, FITRAT],
                check=True,
            )
            wheel = next(Path(tmp).glob("fitrat-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            text = archive.read(FITRAT_TRAIN).decode("utf-8")
    sentences: dict[str, list[str]] = {}
    for line in text.splitlines():
        label, _, sentence = line.partition(" ")
        if not label.startswith("__label__"):
            continue  # the file ends with a few tab-separated lines of another format
        sentences.setdefault(label.removeprefix("__label__"), []).append(sentence)
    return sentences


def split(sentences: Sequence[str]) -> tuple[list[str], list[str]]:
    train = [s for index, s in enumerate(sentences) if index % CALIBRATION_EVERY]
    calibration = [s for index, s in enumerate(sentences) if not index % CALIBRATION_EVERY]
    return train, calibration


def convert_in_chunks(lines: Sequence[str], convert: Callable[[str], str]) -> list[str]:
    output: list[str] = []
    for start in range(0, len(lines), CHUNK):
        chunk = "\n".join(lines[start : start + CHUNK])
        output.extend(convert(chunk).split("\n"))
    assert len(output) == len(lines)
    return output


def to_cyrillic(text: str) -> str:
    return alifbo.to_cyrillic(text).text


def words_of(sentences: Iterable[str], script: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for sentence in sentences:
        for token in sentence.split():
            word = langid.word_key(token)
            if word and langid.script_of(word) == script:
                counts[word] += 1
    return counts


def russian_forms(hunspell: Path, limit: int, rng: random.Random) -> list[str]:
    """Inflected Russian forms from hunspell's stems and affix rules (unmunch, hunspell-tools).

    A sample of ``limit`` forms: enough to teach the n-gram model Russian endings (форматов,
    модели) without drowning the running-text counts. Empty when unmunch is missing.
    """
    unmunch = shutil.which("unmunch")
    if unmunch is None:
        print("unmunch not found (apt-get install hunspell-tools): Russian stems only")
        return []
    result = subprocess.run(
        [unmunch, str(hunspell / "ru_RU.dic"), str(hunspell / "ru_RU.aff")],
        check=True,
        capture_output=True,
        text=True,
    )
    forms = sorted({line.strip() for line in result.stdout.splitlines() if line.strip()})
    return rng.sample(forms, min(limit, len(forms)))


def hunspell_words(path: Path) -> list[str]:
    lines = path.read_text("utf-8").splitlines()[1:]
    return [line.split("/", 1)[0].strip() for line in lines if line.strip()]


def ngram_counts(words: Counter[str], order: int, min_count: int) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for word, frequency in words.items():
        for gram in langid.ngrams(word, order):
            counts[gram] += frequency
    return {
        gram: count
        for gram, count in counts.items()
        if count >= min_count or len(gram.lstrip("^")) <= 2
    }


def gzip_text(path: Path) -> io.TextIOWrapper:
    """A gzip text writer with no timestamp in the header, so rebuilds are byte-identical."""
    raw = gzip.GzipFile(path, "wb", mtime=0)
    return io.TextIOWrapper(raw, encoding="utf-8", newline="\n")


def fit_logistic(features: np.ndarray, labels: np.ndarray, l2: float = 1e-2) -> list[float]:
    """Class-balanced L2-regularised logistic regression by Newton's method."""
    weights = np.where(labels == 1, 0.5 / labels.mean(), 0.5 / (1 - labels.mean()))
    theta = np.zeros(features.shape[1])
    for _ in range(50):
        z = np.clip(features @ theta, -30, 30)
        p = 1 / (1 + np.exp(-z))
        gradient = features.T @ (weights * (p - labels)) + l2 * theta
        hessian = (features * (weights * p * (1 - p))[:, None]).T @ features
        hessian += l2 * np.eye(len(theta))
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return [round(float(value), 5) for value in theta]


def labelled_words(sentences: Iterable[str], script: str, label: int) -> list[tuple[str, int]]:
    return [(word, label) for word in words_of(sentences, script).elements()]


def synthetic_sets(
    calibration: dict[str, list[str]], rng: random.Random
) -> dict[str, list[Sentence]]:
    """Sentences with gold tags: monolingual sets, and uz+ru, ru+uz, uz+ru+uz sentences made of
    spans of 1 to 12 words (short spans are where smoothing can swallow a switch)."""

    def tokens(sentence: str, tag: str) -> tuple[list[str], list[str]]:
        words = sentence.split()
        return words, [tag if langid.word_key(word) else langid.OTHER for word in words]

    def span(sentence: str, tag: str) -> tuple[list[str], list[str]]:
        words, tags = tokens(sentence, tag)
        size = rng.randint(1, 12)
        start = rng.randint(0, max(0, len(words) - size))
        return words[start : start + size], tags[start : start + size]

    sets: dict[str, list[Sentence]] = {
        "uz_lat": [tokens(s, langid.UZ) for s in calibration["uz_lat"][:600]],
        "uz_cyr": [tokens(s, langid.UZ) for s in calibration["uz_cyr"][:600]],
        "ru": [tokens(s, langid.RU) for s in calibration["rus"][:600]],
    }
    for script in ("uz_lat", "uz_cyr"):
        mixed = []
        for index in range(600):
            pattern = [("uz", "ru"), ("ru", "uz"), ("uz", "ru", "uz")][index % 3]
            words: list[str] = []
            tags: list[str] = []
            for language in pattern:
                source = calibration[script if language == "uz" else "rus"]
                part_words, part_tags = span(rng.choice(source), language)
                words += part_words
                tags += part_tags
            mixed.append((words, tags))
        sets["mixed_" + script] = mixed
    return sets


def score(tagger: langid.LanguageTagger, sets: dict[str, list[Sentence]]) -> dict[str, float]:
    """Word accuracy per set, and switch-point F1 on the mixed sets."""
    results = {}
    for name, sentences in sets.items():
        right = total = hits = predicted_points = gold_points = 0
        for words, gold in sentences:
            predicted = tagger.tag(words)
            for guess, truth in zip(predicted, gold, strict=True):
                if truth != langid.OTHER:
                    total += 1
                    right += guess == truth
            expected = set(langid.switch_points(gold))
            found = set(langid.switch_points(predicted))
            hits += len(expected & found)
            predicted_points += len(found)
            gold_points += len(expected)
        results[name] = right / max(total, 1)
        if name.startswith("mixed"):
            results[name + "_switch_f1"] = 2 * hits / max(predicted_points + gold_points, 1)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fitrat-wheel", type=Path, help="fitrat-0.0.9 wheel (else pip download)")
    parser.add_argument("--hunspell", type=Path, default=Path("/usr/share/hunspell"))
    parser.add_argument("--out", type=Path, default=langid.DATA_DIR)
    parser.add_argument(
        "--russian-forms", type=int, default=400_000, help="inflected ru forms sampled"
    )
    parser.add_argument("--order", type=int, default=ORDER, help="character n-gram order")
    parser.add_argument("--min-count", type=int, default=MIN_COUNT, help="prune rarer n-grams")
    args = parser.parse_args()
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)

    sentences = fitrat_sentences(args.fitrat_wheel)
    train: dict[str, list[str]] = {}
    calibration: dict[str, list[str]] = {}
    for label, lines in sentences.items():
        train[label], calibration[label] = split(lines)
    log("fitrat: " + ", ".join(f"{label} {len(train[label])}" for label in sorted(train)))

    uz_dic = hunspell_words(args.hunspell / "uz_UZ.dic")
    ru_dic = hunspell_words(args.hunspell / "ru_RU.dic")
    ru_forms = russian_forms(args.hunspell, args.russian_forms, random.Random(4))
    log(f"hunspell: uz {len(uz_dic)} forms, ru {len(ru_dic)} stems, {len(ru_forms)} ru forms")

    latin_from_cyrillic = convert_in_chunks(train["uz_cyr"], to_uzbek_latin)
    cyrillic_from_latin = convert_in_chunks(train["uz_lat"], to_cyrillic)
    uz_dic_latin = convert_in_chunks(uz_dic, to_uzbek_latin)
    log("transliterated Uzbek training text both ways")

    uz_cyr_words = words_of(train["uz_cyr"] + cyrillic_from_latin + uz_dic, "cyrillic")
    uz_lat_words = words_of(train["uz_lat"] + latin_from_cyrillic + uz_dic_latin, "latin")
    ru_words = words_of(train["rus"] + ru_dic + ru_forms, "cyrillic")
    other_words = words_of((s for label in OTHER_LATIN_LABELS for s in train[label]), "latin")
    word_counts = {
        langid.UZ_CYRILLIC: uz_cyr_words,
        langid.UZ_LATIN: uz_lat_words,
        langid.RUSSIAN: ru_words,
        langid.OTHER_LATIN: other_words,
    }

    args.out.mkdir(parents=True, exist_ok=True)
    counts = {
        name: ngram_counts(words, args.order, args.min_count) for name, words in word_counts.items()
    }
    with gzip_text(args.out / langid.NGRAMS_FILE) as out:
        for name in langid.MODEL_CLASSES:
            for gram, count in sorted(counts[name].items()):
                out.write(f"{name}\t{gram}\t{count}\n")
    log("n-grams: " + ", ".join(f"{name} {len(grams)}" for name, grams in counts.items()))

    # Lexicons: every hunspell form, and corpus words seen at least twice (once for Russian,
    # whose hunspell list holds stems only).
    def corpus_words(sentences: Iterable[str], script: str, minimum: int) -> set[str]:
        return {w for w, c in words_of(sentences, script).items() if c >= minimum}

    dic_cyrillic = {langid.word_key(w) for w in uz_dic} - {""}
    dic_latin = {langid.word_key(w) for w in uz_dic_latin} - {""}
    lexicons = {
        langid.UZ_CYRILLIC: dic_cyrillic
        | corpus_words(train["uz_cyr"] + cyrillic_from_latin, "cyrillic", 2),
        langid.UZ_LATIN: dic_latin
        | corpus_words(train["uz_lat"] + latin_from_cyrillic, "latin", 2),
        langid.RUSSIAN: ({langid.word_key(w) for w in ru_dic} - {""})
        | corpus_words(train["rus"], "cyrillic", 1),
    }
    with gzip_text(args.out / langid.LEXICON_FILE) as out:
        for name in langid.LEXICON_CLASSES:
            for word in sorted(lexicons[name]):
                if langid.script_of(word):
                    out.write(f"{name}\t{word}\n")
    log("lexicons: " + ", ".join(f"{name} {len(words)}" for name, words in lexicons.items()))

    params = langid.Params(
        order=args.order,
        cyrillic_weights=(1.0, 0.0, 0.0, 0.0),
        latin_weights=(1.0, 0.0, 0.0),
        switch_probability=0.05,
    )
    models = {name: langid.CharNgramModel(grams, args.order) for name, grams in counts.items()}
    frozen = {name: frozenset(words) for name, words in lexicons.items()}
    tagger = langid.LanguageTagger(models, frozen, params)

    rng = random.Random(4)
    cyrillic = labelled_words(calibration["uz_cyr"], "cyrillic", 1) + labelled_words(
        calibration["rus"], "cyrillic", 0
    )
    cyrillic = [(w, y) for w, y in cyrillic if not set(w) & set("ўқғҳ")]
    latin = labelled_words(calibration["uz_lat"], "latin", 1)
    latin = [(w, y) for w, y in latin if not langid.has_uzbek_latin_apostrophe(w)]
    latin += labelled_words(
        (s for label in OTHER_LATIN_LABELS for s in calibration[label]), "latin", 0
    )
    rng.shuffle(cyrillic)
    rng.shuffle(latin)
    cyrillic, latin = cyrillic[:20000], latin[:20000]
    x = np.array([tagger.cyrillic_features(w) for w, _ in cyrillic])
    cyrillic_weights = fit_logistic(x, np.array([y for _, y in cyrillic], dtype=float))
    x = np.array([tagger.latin_features(w) for w, _ in latin])
    latin_weights = fit_logistic(x, np.array([y for _, y in latin], dtype=float))
    log(f"weights: cyrillic {cyrillic_weights}, latin {latin_weights}")
    params = dataclasses.replace(
        params, cyrillic_weights=tuple(cyrillic_weights), latin_weights=tuple(latin_weights)
    )

    # The switch probability: the best mean of word accuracy (all sets) and switch F1.
    sets = synthetic_sets(calibration, rng)
    best: tuple[float, float] | None = None
    for switch in (0.003, 0.01, 0.03, 0.1, 0.3):
        tagger.params = dataclasses.replace(params, switch_probability=switch)
        results = score(tagger, sets)
        mean = sum(results.values()) / len(results)
        log(f"switch {switch}: " + ", ".join(f"{k} {v:.4f}" for k, v in results.items()))
        if best is None or mean > best[0]:
            best = (mean, switch)
    assert best is not None
    final = dataclasses.replace(params, switch_probability=best[1]).to_json()
    final["built_from"] = [
        f"{FITRAT} language_detector/data/train.txt (nine tenths; one tenth for calibration)",
        "Debian hunspell-uz (uz_UZ.dic)",
        "Debian hunspell-ru (ru_RU.dic)",
    ]
    (args.out / langid.PARAMS_FILE).write_text(json.dumps(final, indent=2) + "\n")
    log(f"chose switch probability {best[1]}; wrote {args.out}")


if __name__ == "__main__":
    main()
