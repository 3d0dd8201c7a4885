"""Word-level language identification for Uzbek/Russian code-switching: uz / ru / other.

Django-free. Public API: ``tag_words``, ``switch_points``, ``code_mixing_index``.

How a word is tagged:

1. A token with no letter (numbers, punctuation) is "other" and does not take part in the
   smoothing below (the words on either side of it are still neighbours).
2. Each word gets probabilities for uz, ru and other from its script and its letters:
   - Cyrillic: an Uzbek-only letter (ў қ ғ ҳ) makes it Uzbek; otherwise a logistic model over
     the log-likelihood ratio of two character n-gram models (Uzbek Cyrillic vs Russian) and
     membership of the Uzbek and Russian lexicons.
   - Latin: Russian is not written in Latin here, so the choice is Uzbek or other (a name, an
     English word): oʻ/gʻ before a letter makes it Uzbek; otherwise a logistic model over the
     n-gram ratio of Uzbek Latin vs English/German/French and the Uzbek lexicon.
   Both logistic models are fitted at even odds on text the n-gram models did not see.
3. A hidden Markov model over the words smooths these. Its states are uz, ru, and "other"
   remembering the language of its context (other-in-uz, other-in-ru), so "other" is
   transparent: changing the context language between uz and ru costs
   ``log(switch_probability)``, nothing else does. A Cyrillic word is "other" only with a tiny
   probability. A Latin word inside Uzbek is foreign with prior ``latin_other_prior``; inside
   Russian it is foreign unless it looks very Uzbek (calling it Uzbek costs the switches
   there and back). An ambiguous Cyrillic word takes its neighbours' language. The Viterbi
   path gives the tags.

The n-gram counts, lexicons and calibrated weights live in ``uzwhisper/lib/data/`` and are
made by ``scripts/build_langid_model.py`` (sources and licences: ``data/README.md``).
"""

from __future__ import annotations

import gzip
import json
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from uzwhisper.asr.languages import SUPPORTED_LANGUAGES

__all__ = ["code_mixing_index", "switch_points", "tag_words"]

DATA_DIR = Path(__file__).resolve().parent / "data"
NGRAMS_FILE = "langid_ngrams.tsv.gz"
LEXICON_FILE = "langid_lexicon.tsv.gz"
PARAMS_FILE = "langid_params.json"

LANGUAGES = SUPPORTED_LANGUAGES
UZ, RU = LANGUAGES
OTHER = "other"
# What a word is tagged with.
WORD_LANGUAGES = (UZ, RU, OTHER)

# n-gram model classes
UZ_CYRILLIC, UZ_LATIN, RUSSIAN, OTHER_LATIN = "uz_cyr", "uz_lat", "ru", "other_lat"
MODEL_CLASSES = (UZ_CYRILLIC, UZ_LATIN, RUSSIAN, OTHER_LATIN)
# lexicon classes
LEXICON_CLASSES = (UZ_CYRILLIC, UZ_LATIN, RUSSIAN)

APOSTROPHE = "'"
_APOSTROPHE_LIKE = frozenset("'`´ʹʺʻʼʽʾʿˈˊˮ′＇\u2018\u2019\u201a\u201b")
_UZBEK_ONLY_CYRILLIC = frozenset("ўқғҳ")
_WORD_START, _WORD_END = "^", "$"
# A probability never reaches 0 or 1: one word must not outvote its whole context.
_FLOOR = 1e-4


def word_key(token: str) -> str:
    """The form a token is looked up and scored in: lower case, letters and inner apostrophes.

    Edge punctuation goes, apostrophe look-alikes become ', digits go ("2018-yil" → "yil");
    an apostrophe survives between letters and after a word-final o/g (bogʻ). Returns "" for
    a token without letters.
    """
    text = unicodedata.normalize("NFC", token).lower()
    kept: list[str] = []
    for character in text:
        if character in _APOSTROPHE_LIKE:
            kept.append(APOSTROPHE)
        elif character.isalpha() or character == "-":
            kept.append(character)
        else:
            kept.append(" ")
    # Hyphenated and digit-split tokens: score the letters of the longest part.
    parts = [part for part in "".join(kept).replace("-", " ").split() if part.strip(APOSTROPHE)]
    if not parts:
        return ""
    word = max(parts, key=len)
    word = word.lstrip(APOSTROPHE)
    while word.endswith(APOSTROPHE) and not (len(word) > 1 and word[-2] in "og"):
        word = word[:-1]
    return word.replace(APOSTROPHE * 2, APOSTROPHE)


def script_of(word: str) -> str:
    """ "cyrillic", "latin" or "" (no letters) by majority of letters."""
    cyrillic = latin = 0
    for character in word:
        if "\u0400" <= character <= "\u04ff":
            cyrillic += 1
        elif character.isalpha() and character != APOSTROPHE:
            latin += 1
    if not cyrillic and not latin:
        return ""
    return "cyrillic" if cyrillic >= latin else "latin"


def has_uzbek_latin_apostrophe(word: str) -> bool:
    """True when a ``word_key`` form has oʻ or gʻ before another letter (oʻzbek, gʻalaba).

    A word-final o' is left out: Italian "po'" and English "o'" would pass for Uzbek.
    """
    return any(
        word[index] == APOSTROPHE and word[index - 1] in "og" and word[index + 1 :][:1].isalpha()
        for index in range(1, len(word))
    )


def ngrams(word: str, order: int) -> Iterable[str]:
    """Every n-gram (n = 1..order) ending at each character of the padded word."""
    padded = _WORD_START * (order - 1) + word + _WORD_END
    for end in range(order - 1, len(padded)):
        for size in range(1, order + 1):
            yield padded[end - size + 1 : end + 1]


class CharNgramModel:
    """Interpolated Witten-Bell character n-gram model of one language's words.

    ``counts`` maps n-grams (n = 1..order, words padded with ^ and ending in $) to counts.
    """

    def __init__(self, counts: Mapping[str, int], order: int) -> None:
        self.order = order
        self.counts = dict(counts)
        self.context_total: dict[str, int] = {}
        self.context_types: dict[str, int] = {}
        for gram, count in self.counts.items():
            history = gram[:-1]
            self.context_total[history] = self.context_total.get(history, 0) + count
            self.context_types[history] = self.context_types.get(history, 0) + 1
        # Unseen characters share a uniform floor over a generous alphabet.
        self.base_probability = 1.0 / (self.context_types.get("", 0) + 50)

    def _probability(self, history: str, character: str) -> float:
        probability = self.base_probability
        for size in range(len(history) + 1):
            context = history[len(history) - size :]
            total = self.context_total.get(context)
            if total is None:
                break
            types = self.context_types[context]
            seen = self.counts.get(context + character, 0)
            probability = (seen + types * probability) / (total + types)
        return probability

    def log_probability(self, word: str) -> float:
        padded = _WORD_START * (self.order - 1) + word + _WORD_END
        return sum(
            math.log(self._probability(padded[end - self.order + 1 : end], padded[end]))
            for end in range(self.order - 1, len(padded))
        )


@dataclass(frozen=True)
class Params:
    order: int
    # Logistic weights: Cyrillic [llr uz/ru, in uz lexicon, in ru lexicon, bias];
    # Latin [llr uz/other, in uz lexicon, bias]. Fitted class-balanced (even odds).
    cyrillic_weights: tuple[float, ...]
    latin_weights: tuple[float, ...]
    switch_probability: float
    # Prior share of foreign words (names, English) among Latin-script words: the Latin
    # logistic model is fitted at even odds, real text has far fewer foreign words.
    latin_other_prior: float = 0.1
    # Probability that a Cyrillic word is "other" (a name), and that a Latin one is Russian.
    cyrillic_other_probability: float = 1e-3
    latin_russian_probability: float = 1e-4

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Params:
        return cls(
            order=int(data["order"]),
            cyrillic_weights=tuple(float(value) for value in data["cyrillic_weights"]),
            latin_weights=tuple(float(value) for value in data["latin_weights"]),
            switch_probability=float(data["switch_probability"]),
            latin_other_prior=float(data["latin_other_prior"]),
            cyrillic_other_probability=float(data["cyrillic_other_probability"]),
            latin_russian_probability=float(data["latin_russian_probability"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "cyrillic_weights": list(self.cyrillic_weights),
            "latin_weights": list(self.latin_weights),
            "switch_probability": self.switch_probability,
            "latin_other_prior": self.latin_other_prior,
            "cyrillic_other_probability": self.cyrillic_other_probability,
            "latin_russian_probability": self.latin_russian_probability,
        }


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1.0 + exp)


def _clip(probability: float) -> float:
    return min(1.0 - _FLOOR, max(_FLOOR, probability))


class LanguageTagger:
    """The model behind ``tag_words``: n-gram models, lexicons and calibrated weights."""

    def __init__(
        self,
        models: Mapping[str, CharNgramModel],
        lexicons: Mapping[str, frozenset[str]],
        params: Params,
    ) -> None:
        self.models = dict(models)
        self.lexicons = dict(lexicons)
        self.params = params

    @classmethod
    def load(cls, directory: Path = DATA_DIR) -> LanguageTagger:
        params = Params.from_json(json.loads((directory / PARAMS_FILE).read_text("utf-8")))
        counts: dict[str, dict[str, int]] = {name: {} for name in MODEL_CLASSES}
        with gzip.open(directory / NGRAMS_FILE, "rt", encoding="utf-8") as lines:
            for line in lines:
                name, gram, count = line.rstrip("\n").split("\t")
                counts[name][gram] = int(count)
        words: dict[str, set[str]] = {name: set() for name in LEXICON_CLASSES}
        with gzip.open(directory / LEXICON_FILE, "rt", encoding="utf-8") as lines:
            for line in lines:
                name, word = line.rstrip("\n").split("\t")
                words[name].add(word)
        return cls(
            {name: CharNgramModel(grams, params.order) for name, grams in counts.items()},
            {name: frozenset(entries) for name, entries in words.items()},
            params,
        )

    # --- per-word features and probabilities ---

    def log_ratio(self, word: str, first: str, second: str) -> float:
        return self.models[first].log_probability(word) - self.models[second].log_probability(word)

    def cyrillic_features(self, word: str) -> tuple[float, ...]:
        return (
            self.log_ratio(word, UZ_CYRILLIC, RUSSIAN),
            float(word in self.lexicons[UZ_CYRILLIC]),
            float(word in self.lexicons[RUSSIAN]),
            1.0,
        )

    def latin_features(self, word: str) -> tuple[float, ...]:
        return (
            self.log_ratio(word, UZ_LATIN, OTHER_LATIN),
            float(word in self.lexicons[UZ_LATIN]),
            1.0,
        )

    def uzbek_probability(self, word: str) -> float | None:
        """P(uz) of one ``word_key`` form at even odds, out of context; None without letters.

        Cyrillic: P(uz) against Russian. Latin: P(uz) against "other" (foreign).
        """
        script = script_of(word)
        if not script:
            return None
        if script == "cyrillic":
            if any(character in _UZBEK_ONLY_CYRILLIC for character in word):
                return 1.0 - _FLOOR**2
            return _clip(_dot(self.params.cyrillic_weights, self.cyrillic_features(word)))
        if has_uzbek_latin_apostrophe(word):
            return 1.0 - _FLOOR**2
        return _clip(_dot(self.params.latin_weights, self.latin_features(word)))

    def likelihoods(self, word: str) -> tuple[float, ...] | None:
        """How well each HMM state (``_STATES``) explains the word; None without letters.

        A Latin word inside Uzbek is foreign with prior ``latin_other_prior``; inside Russian
        it is foreign unless it looks very Uzbek (the switches there and back cost the rest).
        """
        uzbek = self.uzbek_probability(word)
        if uzbek is None:
            return None
        params = self.params
        if script_of(word) == "cyrillic":
            other = params.cyrillic_other_probability
            return (uzbek * (1.0 - other), (1.0 - uzbek) * (1.0 - other), other, other)
        prior = params.latin_other_prior
        foreign = 1.0 - uzbek
        return (uzbek * (1.0 - prior), params.latin_russian_probability, foreign * prior, foreign)

    # --- sentence-level smoothing ---

    def tag(self, words: Sequence[str]) -> list[str]:
        tags = [OTHER] * len(words)
        positions: list[int] = []
        emissions: list[tuple[float, ...]] = []
        for position, token in enumerate(words):
            likelihoods = self.likelihoods(word_key(token))
            if likelihoods is not None:
                positions.append(position)
                emissions.append(likelihoods)
        for position, tag in zip(positions, _viterbi(emissions, self.params), strict=True):
            tags[position] = tag
        return tags


def _dot(weights: Sequence[float], features: Sequence[float]) -> float:
    return _sigmoid(
        sum(weight * feature for weight, feature in zip(weights, features, strict=True))
    )


# HMM states: a language, or "other" remembering the language of its context.
_STATES = ((UZ, UZ), (RU, RU), (OTHER, UZ), (OTHER, RU))


def _viterbi(emissions: Sequence[Sequence[float]], params: Params) -> list[str]:
    if not emissions:
        return []
    switch_cost = math.log(params.switch_probability)
    scores = [math.log(likelihood) for likelihood in emissions[0]]
    back: list[list[int]] = []
    for emission in emissions[1:]:
        new_scores: list[float] = []
        pointers: list[int] = []
        for state, (_, context) in enumerate(_STATES):
            best, best_from = -math.inf, 0
            for index, (_, previous_context) in enumerate(_STATES):
                score = scores[index] + (0.0 if previous_context == context else switch_cost)
                if score > best:
                    best, best_from = score, index
            new_scores.append(best + math.log(emission[state]))
            pointers.append(best_from)
        scores = new_scores
        back.append(pointers)
    state = max(range(len(_STATES)), key=scores.__getitem__)
    path = [state]
    for pointers in reversed(back):
        state = pointers[state]
        path.append(state)
    return [_STATES[state][0] for state in reversed(path)]


@cache
def default_tagger() -> LanguageTagger:
    """The shipped model, loaded once per process (about a second)."""
    return LanguageTagger.load()


def tag_words(words: list[str]) -> list[str]:
    """Tag each word "uz", "ru" or "other", in context.

    ``words`` are tokens as written (attached punctuation is fine). Numbers, punctuation-only
    tokens and Latin-script words that look foreign (names, English) are "other"; a
    Latin-script word inside Russian is "other" unless it is clearly Uzbek; an ambiguous
    Cyrillic word takes its neighbours' language.
    """
    return default_tagger().tag(words)


def switch_points(tags: list[str]) -> list[int]:
    """Indices of the words where the language changes between "uz" and "ru".

    "other" tags are skipped: ["uz", "other", "ru"] switches at index 2.
    """
    points: list[int] = []
    previous: str | None = None
    for index, tag in enumerate(tags):
        if tag not in LANGUAGES:
            continue
        if previous is not None and tag != previous:
            points.append(index)
        previous = tag
    return points


def code_mixing_index(tags: list[str]) -> float:
    """Code-Mixing Index of Gambäck & Das (2014) for one utterance, from 0 to 100.

    CMI = 100 × (1 − max(w_uz, w_ru) / (n − u)), where n is the number of tokens, u the number
    of language-independent tokens ("other") and w_uz, w_ru the token counts per language;
    CMI = 0 when n == u (no language-tagged token). A monolingual utterance scores 0; an even
    uz/ru split scores 50.
    """
    total = len(tags)
    independent = sum(1 for tag in tags if tag not in LANGUAGES)
    if total == independent:
        return 0.0
    dominant = max(tags.count(UZ), tags.count(RU))
    return 100.0 * (1.0 - dominant / (total - independent))
