"""Quality benchmark: WER and CER of a Whisper model on Uzbek, Russian and code-switched speech,
and how often the word tagger's language tags match the known language of each word.

Writes the generated page `docs/benchmarks.md` and the same figures as `docs/benchmarks.json`;
every figure on the page comes from the run that wrote it.

    .venv/bin/python scripts/benchmark_quality.py [--speech DIR] [--out DIR] [--pairs N]
                                                  [--limit N] [--model DIR] [--seed N]
                                                  [--store] [--work DIR]

Steps:
1. Build the code-switched set (`scripts/build_codeswitch_set.py`: a real Uzbek and a real
   Russian clip joined, every reference word's language known) into a work folder, from
   ../shared/testdata/speech when it exists, else tests/data/speech.
2. Evaluate with the code `manage.py evaluate` runs (`training.services.evaluation_run_execute`),
   greedy: the monolingual Uzbek and Russian clips with each row's own language forced, then
   the code-switched set twice, with `auto` and with `mixed`.
3. Word tags on the code-switched set: `uzwhisper.lib.langid.tag_words` on the reference words
   against their known languages, and on the hypothesis words, aligned to the reference with
   jiwer, against the known language of the reference word each one stands for.

Runs are stored in a throwaway SQLite database in the work folder unless `--store` is given
(then the configured database, which must be migrated, keeps them for the web app). Called from
a process where Django is already set up (the tests), it uses that process's database.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uzwhisper.settings")

DOCS = ROOT / "docs"
LANGUAGES = ("uz", "ru")
LANGUAGE_NAMES = {"uz": "Uzbek", "ru": "Russian"}
BEAM_SIZE = 1  # greedy, as `evaluate` runs by default
CODESWITCH_MODES = ("auto", "mixed")
PACKAGES = ("faster-whisper", "ctranslate2", "jiwer")
THROWAWAY_DATABASE = "a throwaway SQLite database"


# --- set-up ----------------------------------------------------------------------------------


def load_builder() -> ModuleType:
    """`scripts/build_codeswitch_set.py` as a module (scripts/ is not a package)."""
    name = "build_codeswitch_set"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load scripts/{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def setup_django(work: Path, *, store: bool) -> str:
    """Make the ORM usable; returns which database the runs go to.

    A caller that has set Django up already (pytest-django) keeps its database. Otherwise the
    runs go to a fresh SQLite file in `work`, migrated here, unless `store` asks for the
    configured database.
    """
    from django.apps import apps

    if apps.ready:
        return "the caller's database"
    if not store:
        os.environ["DATABASE_URL"] = f"sqlite:///{work / 'benchmark.sqlite3'}"
    import django
    from django.core.management import call_command

    django.setup()
    if store:
        return "the configured database"
    call_command("migrate", verbosity=0, interactive=False)
    return THROWAWAY_DATABASE


def write_monolingual_manifest(speech_dir: Path, target: Path, *, limit: int | None) -> int:
    """Copy the Uzbek and Russian rows of `speech_dir/manifest.jsonl` (at most `limit` of each)
    into `target`, their audio paths rewritten relative to it. Returns the number of rows."""
    kept: list[dict[str, Any]] = []
    per_language: Counter[str] = Counter()
    source = speech_dir / "manifest.jsonl"
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            print(f"{source}:{number}: not valid JSON, left out", file=sys.stderr)
            continue
        language = row.get("language") if isinstance(row, dict) else None
        if language not in LANGUAGES or row.get("code_switched"):
            continue
        if limit is not None and per_language[language] >= limit:
            continue
        per_language[language] += 1
        audio = os.path.relpath((speech_dir / row["audio"]).resolve(), target.parent.resolve())
        kept.append({**row, "audio": audio})
    target.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in kept), encoding="utf-8"
    )
    return len(kept)


# --- evaluation --------------------------------------------------------------------------------


@dataclass
class Evaluated:
    """One evaluation run: its result dictionary (as `evaluate` writes it as JSON), the manifest
    rows by index, and the wall time the run took."""

    result: dict[str, Any]
    rows: dict[int, Any]
    wall_seconds: float


def evaluate(
    manifest_path: Path, *, mode: str, model_path: str, reports: Path, seed: int
) -> Evaluated:
    import ctranslate2

    from training.manifests import read_manifest
    from training.selectors import evaluation_run_result
    from training.services import evaluation_run_execute

    manifest = read_manifest(manifest_path)
    for skipped in manifest.skipped:
        print(f"skipped {skipped.message(manifest.name)}", file=sys.stderr)
    print(f"evaluating {manifest.name} ({len(manifest.rows)} clips, {mode})…", file=sys.stderr)
    # Whisper's temperature fallback samples. CTranslate2 seeds a thread's generator when that
    # thread first samples, so the seed takes hold before the first run only: the script as a
    # whole repeats its figures, and each run's also depend on the runs before it.
    ctranslate2.set_random_seed(seed)
    started = time.perf_counter()
    run = evaluation_run_execute(
        manifest=manifest,
        model_path=model_path,
        language_mode=mode,
        beam_size=BEAM_SIZE,
        out_dir=reports,
    )
    wall = time.perf_counter() - started
    result = evaluation_run_result(run)
    print(f"  WER {_percent(result['wer'])}, CER {_percent(result['cer'])}", file=sys.stderr)
    return Evaluated(result, dict(enumerate(manifest.rows)), wall)


# --- word tags -----------------------------------------------------------------------------------


@dataclass
class TagAgreement:
    """Tags compared with known word languages. A word tagged "other" (a number, a name, a
    foreign word) is counted apart and left out of the agreement."""

    compared: int = 0
    other: int = 0
    agree: int = 0
    by_language: dict[str, list[int]] = field(
        default_factory=lambda: {language: [0, 0, 0] for language in LANGUAGES}
    )  # language -> [compared, other, agree]

    def add(self, known: str, tag: str) -> None:
        counts = self.by_language.setdefault(known, [0, 0, 0])
        self.compared += 1
        counts[0] += 1
        if tag not in LANGUAGES:
            self.other += 1
            counts[1] += 1
        elif tag == known:
            self.agree += 1
            counts[2] += 1

    @staticmethod
    def _share(agree: int, compared: int, other: int) -> float | None:
        tagged = compared - other
        return agree / tagged if tagged else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "words_compared": self.compared,
            "tagged_other": self.other,
            "words_tagged_uz_or_ru": self.compared - self.other,
            "agree": self.agree,
            "agreement": self._share(self.agree, self.compared, self.other),
            "agreement_counting_other_as_wrong": (
                self.agree / self.compared if self.compared else None
            ),
            "by_language": {
                language: {
                    "words_compared": compared,
                    "tagged_other": other,
                    "agree": agree,
                    "agreement": self._share(agree, compared, other),
                }
                for language, (compared, other, agree) in self.by_language.items()
            },
        }


def reference_tag_agreement(rows: list[Any]) -> tuple[TagAgreement, int]:
    """`tag_words` on each reference's words against the row's `word_languages`.
    Returns the counts and the number of rows left out (no word languages, or a count that
    does not match the words)."""
    from uzwhisper.lib.langid import tag_words

    counts, left_out = TagAgreement(), 0
    for row in rows:
        words = row.text.split()
        if not row.word_languages or len(row.word_languages) != len(words):
            left_out += 1
            continue
        for known, tag in zip(row.word_languages, tag_words(words), strict=True):
            counts.add(known, tag)
    return counts, left_out


def _scoring_tokens(words: list[str], labels: list[str]) -> list[tuple[str, str]]:
    """Each written word as the tokens the scorer compares (a code-switched text is scored as
    Uzbek: see `uzwhisper.lib.metrics`), every token keeping its word's label."""
    from uzwhisper.lib.metrics import normalise

    return [
        (token, label)
        for word, label in zip(words, labels, strict=True)
        for token in normalise(word, "mixed").split()
    ]


EDIT_KINDS = ("hits", "substitutions", "deletions", "insertions")


@dataclass
class HypothesisWords:
    tags: TagAgreement = field(default_factory=TagAgreement)
    ref_words: Counter[str] = field(default_factory=Counter)  # scored reference words, by language
    # By the language of the reference word: hits, substitutions, deletions. An insertion goes
    # to the language of the reference words on either side of it; one between a word of each
    # language could belong to either part and is counted as "at a switch".
    edits: dict[str, Counter[str]] = field(
        default_factory=lambda: {kind: Counter() for kind in EDIT_KINDS}
    )
    insertions_at_switch: int = 0

    def as_dict(self) -> dict[str, Any]:
        by_part = {}
        for language in LANGUAGES:
            counts = {kind: self.edits[kind][language] for kind in EDIT_KINDS}
            words = self.ref_words[language]
            errors = counts["substitutions"] + counts["deletions"] + counts["insertions"]
            by_part[language] = {
                "ref_words": words,
                **counts,
                "share_recognised": counts["hits"] / words if words else None,
                "wer": errors / words if words else None,
            }
        return {
            "tags": self.tags.as_dict(),
            "by_part": by_part,
            "insertions_at_switch": self.insertions_at_switch,
        }


def hypothesis_words(evaluated: Evaluated) -> tuple[HypothesisWords, int]:
    """Tag each hypothesis's words as written, align them to the reference with jiwer, and
    compare the tag of every aligned (equal or substituted) word with the known language of the
    reference word it stands for. Also splits the word edits by the part (uz or ru) they fall
    in. Returns the figures and the number of rows left out."""
    import jiwer

    from uzwhisper.lib.langid import tag_words

    figures, left_out = HypothesisWords(), 0
    for item in evaluated.result["items"]:
        row = evaluated.rows[item["index"]]
        ref_words = row.text.split()
        if not row.word_languages or len(row.word_languages) != len(ref_words):
            left_out += 1
            continue
        reference = _scoring_tokens(ref_words, row.word_languages)
        hyp_words = item["hypothesis"].split()
        hypothesis = _scoring_tokens(hyp_words, tag_words(hyp_words) if hyp_words else [])
        figures.ref_words.update(language for _, language in reference)
        alignment = jiwer.process_words(
            " ".join(token for token, _ in reference), " ".join(token for token, _ in hypothesis)
        )
        for chunk in alignment.alignments[0]:
            if chunk.type == "insert":
                inserted = chunk.hyp_end_idx - chunk.hyp_start_idx
                at = chunk.ref_start_idx
                before = reference[at - 1][1] if at > 0 else None
                after = reference[at][1] if at < len(reference) else None
                if before and after and before != after:
                    figures.insertions_at_switch += inserted
                else:
                    figures.edits["insertions"][before or after or "?"] += inserted
                continue
            for offset in range(chunk.ref_end_idx - chunk.ref_start_idx):
                known = reference[chunk.ref_start_idx + offset][1]
                if chunk.type == "delete":
                    figures.edits["deletions"][known] += 1
                    continue
                figures.tags.add(known, hypothesis[chunk.hyp_start_idx + offset][1])
                kind = "hits" if chunk.type == "equal" else "substitutions"
                figures.edits[kind][known] += 1
    return figures, left_out


# --- figures -------------------------------------------------------------------------------------


def _slice(result: dict[str, Any], dimension: str, value: str) -> dict[str, Any] | None:
    return next(
        (s for s in result["slices"] if s["dimension"] == dimension and s["value"] == value), None
    )


def run_summary(evaluated: Evaluated) -> dict[str, Any]:
    result = evaluated.result
    decoded = Counter(item["language_decoded"] or "?" for item in result["items"])
    return {
        "run_id": result["run_id"],
        "manifest": result["manifest"],
        "language_mode": result["language_mode"],
        "utterances": result["utterances"],
        "skipped": result["skipped"],
        "audio_seconds": result["audio_seconds"],
        "decode_seconds": result["processing_seconds"],
        "real_time_factor": result["real_time_factor"],
        "wall_seconds": evaluated.wall_seconds,
        "wer": result["wer"],
        "cer": result["cer"],
        "decoded_languages": dict(sorted(decoded.items())),
        "slices": result["slices"],
    }


def slice_row(name: str, decoding: str, evaluated: Evaluated, found: dict[str, Any] | None):
    """One row of the WER/CER table; None when the run has no such slice."""
    if found is None:
        return None
    if found["dimension"] == "language":
        items = [i for i in evaluated.result["items"] if i["language"] == found["value"]]
    else:
        items = evaluated.result["items"]
    return {
        "slice": name,
        "decoding": decoding,
        "run_id": evaluated.result["run_id"],
        "audio_seconds": sum(item["duration_s"] for item in items),
        **{key: found[key] for key in found if key not in ("dimension", "value")},
    }


def machine() -> dict[str, Any]:
    cpu_model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model or platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
    }


def _relative(path: Path) -> str:
    """`path` relative to the repository when it is near it (../shared/...), else as given."""
    relative = os.path.relpath(path.resolve(), ROOT)
    return relative if relative.count("..") <= 1 else str(path)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


# --- the page ----------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _fraction(part: int, whole: int, share: float | None) -> str:
    return f"{part} / {whole} ({_percent(share)})"


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _meaning(figures: dict[str, Any]) -> list[str]:
    """What the numbers say, worded from the numbers themselves."""
    rows = {(row["slice"], row["decoding"]): row for row in figures["wer_table"]}
    uz, ru = rows.get(("uz", "forced uz")), rows.get(("ru", "forced ru"))
    auto = figures["runs"]["codeswitch_auto"]
    mixed = figures["runs"]["codeswitch_mixed"]
    text = []
    if uz and ru and uz["wer"] is not None and ru["wer"] is not None:
        if uz["wer"] > ru["wer"]:
            ratio = f" ({uz['wer'] / ru['wer']:.1f}× the Russian)" if ru["wer"] else ""
            text.append(
                f"Uzbek is the weak language: WER {_percent(uz['wer'])}{ratio} against "
                f"{_percent(ru['wer'])} for Russian, with the language forced. Whisper base "
                "used zero-shot, with no Uzbek fine-tuning, is poor at Uzbek, as expected. The "
                "fine-tuning loop (collected, reviewed Uzbek speech → training → evaluation by "
                "slice) is how quality improves; this page is regenerated to measure it."
            )
        else:
            text.append(
                f"Uzbek WER ({_percent(uz['wer'])}) is not above Russian "
                f"({_percent(ru['wer'])}) on these clips. Whisper base zero-shot is known to be "
                "poor at Uzbek; the fine-tuning loop is how quality improves, and this page is "
                "regenerated to measure it."
            )
    if auto["wer"] is not None and mixed["wer"] is not None:
        text.append(_codeswitch_meaning(figures))
    return text


def _codeswitch_meaning(figures: dict[str, Any]) -> str:
    """Whether `mixed` beat `auto`, and which edits made the difference."""
    auto = figures["runs"]["codeswitch_auto"]
    mixed = figures["runs"]["codeswitch_mixed"]
    parts = {mode: figures["word_tags"]["hypothesis"][mode]["by_part"] for mode in CODESWITCH_MODES}

    def total(mode: str, kind: str) -> int:
        return sum(part[kind] for part in parts[mode].values())

    gain = (auto["wer"] - mixed["wer"]) * 100
    if gain > 0:
        verdict = f"`mixed` beats `auto` on the code-switched set by {gain:.1f} WER points"
    elif gain < 0:
        verdict = (
            f"`mixed` does not beat `auto` on the code-switched set ({-gain:.1f} WER points worse)"
        )
    else:
        verdict = "`mixed` and `auto` give the same WER on the code-switched set"
    sentences = [f"{verdict}: {_percent(mixed['wer'])} against {_percent(auto['wer'])}."]
    words = total("auto", "ref_words")
    hits = {mode: total(mode, "hits") for mode in CODESWITCH_MODES}
    if hits["mixed"] != hits["auto"]:
        more = "more" if hits["mixed"] > hits["auto"] else "fewer"
        sentences.append(
            f"`mixed` gets {more} reference words exactly right ({hits['mixed']} against "
            f"{hits['auto']} of {words}), with a CER of {_percent(mixed['cer'])} against "
            f"{_percent(auto['cer'])}."
        )
    deletions = {mode: total(mode, "deletions") for mode in CODESWITCH_MODES}
    if deletions["auto"] > deletions["mixed"]:
        sentences.append(
            "`auto` decodes a whole clip in one language and loses much of the other part "
            f"({deletions['auto']} reference words deleted against {deletions['mixed']})."
        )
    at_switch = {
        mode: figures["word_tags"]["hypothesis"][mode]["insertions_at_switch"]
        for mode in CODESWITCH_MODES
    }
    insertions = {mode: total(mode, "insertions") + at_switch[mode] for mode in CODESWITCH_MODES}
    if insertions["mixed"] > insertions["auto"]:
        where = ", ".join(
            [
                *(
                    f"{parts['mixed'][language]['insertions']} in the "
                    f"{LANGUAGE_NAMES[language]} parts"
                    for language in LANGUAGES
                ),
                f"{at_switch['mixed']} at a switch point",
            ]
        )
        over = sum(1 for clip in figures["clips"]["mixed"] if clip["wer"] > 1.0)
        sentences.append(
            f"`mixed` inserts {insertions['mixed']} words against {insertions['auto']} "
            f"({where}): words with no counterpart in the reference, invented or repeated; "
            f"{_count(over, 'clip')} {'scores' if over == 1 else 'score'} over 100% WER "
            "(see the per-clip table)."
        )
    return " ".join(sentences)


def markdown(figures: dict[str, Any]) -> str:
    model, host = figures["model"], figures["machine"]
    runs = figures["runs"]
    codeswitch = figures["codeswitch_set"]
    mixed_label = "mixed"
    lines = [
        "# Benchmarks: recognition quality",
        "",
        "Generated by `scripts/benchmark_quality.py`; do not edit by hand. Every figure below "
        "comes from the run that wrote this page (the same figures are in `benchmarks.json`).",
        "",
        f"- Date: {figures['generated_at']}",
        f"- Machine: {host['cpu_count']} cores ({_cell(host['cpu_model'])}), {host['platform']}, "
        f"Python {host['python']}, "
        + ", ".join(f"{name} {version}" for name, version in host["packages"].items()),
        f"- Model: `{model['id']}` ({model['device']}, {model['compute_type']}, "
        f"loaded in {_seconds(model['load_seconds'])}); greedy decoding (beam size "
        f"{figures['beam_size']}), VAD on, as `manage.py evaluate` runs it; each decode keeps "
        "to its language's alphabet (Uzbek Latin, Russian Cyrillic, ASCII), and a window that "
        "stays a repetition loop after every fallback is left out",
        f"- Speech: `{figures['speech_dir']}`: "
        f"{_count(runs['monolingual']['utterances'], 'monolingual clip')}; code-switched set of "
        f"{_count(codeswitch['clips'], 'clip')} "
        f"({_seconds(codeswitch['audio_seconds'])}), each a real Uzbek and a real Russian clip "
        f"joined with a {codeswitch['gap_seconds']:.1f} s pause, every reference word's "
        "language known",
        "",
        "## WER and CER",
        "",
        "Corpus-level (total edits over total reference words or characters), after the "
        "project's scoring normaliser on both sides. Monolingual clips are decoded with their "
        "own language forced; the code-switched set is decoded with `auto` and with `mixed`. "
        "Like `evaluate`, decoding falls back to sampling at higher temperatures where a window "
        f"looks like a failure; the sampler is seeded ({figures['seed']}) before the first run, "
        "so a rerun of this script with the same seed and threads gives the same figures, while "
        "another seed can move them, most where Uzbek is decoded (the runs share one generator, "
        "so each run's figures also depend on the runs before it).",
        "",
        "| slice | decoding | clips | audio | ref words | word errors (S/D/I) | WER | CER |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in figures["wer_table"]:
        lines.append(
            f"| {row['slice']} | {row['decoding']} | {row['utterances']} | "
            f"{_seconds(row['audio_seconds'])} | {row['ref_words']} | {row['word_errors']} "
            f"({row['substitutions']}/{row['deletions']}/{row['insertions']}) | "
            f"{_percent(row['wer'])} | {_percent(row['cer'])} |"
        )
    auto, mixed = runs["codeswitch_auto"], runs["codeswitch_mixed"]
    words = figures["word_tags"]["hypothesis"]

    def side_by_side(label: str, auto_value: str, mixed_value: str) -> str:
        return f"| {label} | {auto_value} | {mixed_value} |"

    def recognised(mode: str, language: str) -> str:
        one = words[mode]["by_part"][language]
        return _fraction(one["hits"], one["ref_words"], one["share_recognised"])

    def part_wer(mode: str, language: str) -> str:
        one = words[mode]["by_part"][language]
        return (
            f"{_percent(one['wer'])} "
            f"({one['substitutions']}/{one['deletions']}/{one['insertions']})"
        )

    def decoded(run: dict[str, Any]) -> str:
        return ", ".join(f"{lang} {count}" for lang, count in run["decoded_languages"].items())

    lines += [
        "",
        "## Code-switched set: auto against mixed",
        "",
        f"| | auto | {mixed_label} |",
        "|---|---:|---:|",
        side_by_side("WER", _percent(auto["wer"]), _percent(mixed["wer"])),
        side_by_side("CER", _percent(auto["cer"]), _percent(mixed["cer"])),
    ]
    for language in LANGUAGES:
        name = LANGUAGE_NAMES[language]
        lines += [
            side_by_side(
                f"WER of the {name} parts (S/D/I)",
                part_wer("auto", language),
                part_wer("mixed", language),
            ),
            side_by_side(
                f"{name} reference words recognised exactly",
                recognised("auto", language),
                recognised("mixed", language),
            ),
        ]
    lines += [
        side_by_side(
            "words inserted at a switch point",
            str(words["auto"]["insertions_at_switch"]),
            str(words["mixed"]["insertions_at_switch"]),
        ),
        side_by_side("clips by decoded language", decoded(auto), decoded(mixed)),
        "",
        "The parts' figures split the clips' word edits by the language of the reference words "
        "(jiwer's alignment). An inserted word counts in the part whose reference words stand on "
        "both sides of it; one inserted between an Uzbek and a Russian word could belong to "
        "either part, and is counted only in the clip's WER.",
        "",
        "Per clip (WER; the language the engine reported):",
        "",
        f"| clip | auto | {mixed_label} |",
        "|---|---:|---:|",
    ]
    by_mode = {mode: {c["audio"]: c for c in figures["clips"][mode]} for mode in CODESWITCH_MODES}

    def clip_cell(mode: str, audio: str) -> str:
        one = by_mode[mode].get(audio)
        return "—" if one is None else f"{_percent(one['wer'])} ({one['language_decoded']})"

    for audio in dict.fromkeys([*by_mode["auto"], *by_mode["mixed"]]):
        lines.append(
            side_by_side(f"`{_cell(audio)}`", clip_cell("auto", audio), clip_cell("mixed", audio))
        )
    lines += [
        "",
        "## Word language tags",
        "",
        "`uzwhisper.lib.langid.tag_words` on the code-switched set, against each word's known "
        "language (uz or ru). Words tagged `other` (numbers, names, foreign words) are counted "
        "apart and left out of the agreement. Reference: the reference words as written. "
        "Hypothesis: the hypothesis words as written, aligned to the reference with jiwer; "
        "every equal or substituted pair compares the hypothesis word's tag with the language "
        "of the reference word it stands for.",
        "",
        "| text | words compared | tagged other | agree | agreement | Uzbek words | "
        "Russian words |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    tag_rows = [
        ("reference", figures["word_tags"]["reference"]),
        ("hypothesis, auto", words["auto"]["tags"]),
        (f"hypothesis, {mixed_label}", words["mixed"]["tags"]),
    ]
    for label, tags in tag_rows:
        by_language = tags["by_language"]
        per_language = [
            _fraction(
                by_language[language]["agree"],
                by_language[language]["words_compared"] - by_language[language]["tagged_other"],
                by_language[language]["agreement"],
            )
            for language in LANGUAGES
        ]
        lines.append(
            f"| {label} | {tags['words_compared']} | {tags['tagged_other']} | {tags['agree']} "
            f"| {_percent(tags['agreement'])} | {per_language[0]} | {per_language[1]} |"
        )
    lines += [
        "",
        "## Run times",
        "",
        "Decode time is the evaluation loop (audio decoding, VAD, recognition, scoring, storing); "
        "wall time adds reading the manifest and writing the reports. The model was loaded "
        "once before the first run.",
        "",
        "| run | decoding | clips | audio | decode time | real-time factor | wall time |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, run, decoding in (
        ("monolingual", runs["monolingual"], "each clip's language"),
        ("code-switched", auto, "auto"),
        ("code-switched", mixed, mixed_label),
    ):
        rtf = run["real_time_factor"]
        lines.append(
            f"| {name} | {decoding} | {run['utterances']} | {_seconds(run['audio_seconds'])} | "
            f"{_seconds(run['decode_seconds'])} | {'—' if rtf is None else f'{rtf:.3f}'} | "
            f"{_seconds(run['wall_seconds'])} |"
        )
    skipped = [(name, line) for name, run in runs.items() for line in run["skipped"]]
    if skipped:
        lines += ["", "Lines the evaluation skipped:", ""]
        lines += [
            f"- {name}, line {s['line']} ({s['code']}): {_cell(s['reason'])}" for name, s in skipped
        ]
    lines += ["", "## What the numbers mean", ""]
    lines += [f"{paragraph}\n" for paragraph in _meaning(figures)]
    lines += [
        "Regenerate with `.venv/bin/python scripts/benchmark_quality.py` (the whole sets take a "
        "few minutes on 2 cores).",
    ]
    return "\n".join(lines).rstrip() + "\n"


# --- main ----------------------------------------------------------------------------------------


def benchmark(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    database = setup_django(work, store=args.store)
    from django.conf import settings

    from transcription.serving import engine_config
    from uzwhisper.asr import engine

    model_path = str(args.model or settings.WHISPER_MODEL)
    reports = work / "reports"
    speech_dir = args.speech.resolve()

    codeswitch_dir = work / "codeswitch"
    cs_rows = load_builder().build(
        speech_dir=speech_dir, out_dir=codeswitch_dir, pairs=args.pairs, gap_s=args.gap
    )
    monolingual = work / "monolingual.jsonl"
    write_monolingual_manifest(speech_dir, monolingual, limit=args.limit)

    # Load the model once, so no run's time includes the load.
    model = engine.get_model(dataclasses.replace(engine_config(), model_path=model_path))

    runs = {
        "monolingual": evaluate(
            monolingual, mode="manifest", model_path=model_path, reports=reports, seed=args.seed
        )
    }
    for mode in CODESWITCH_MODES:
        runs[f"codeswitch_{mode}"] = evaluate(
            codeswitch_dir / "manifest.jsonl",
            mode=mode,
            model_path=model_path,
            reports=reports,
            seed=args.seed,
        )

    mono, auto, mixed = runs["monolingual"], runs["codeswitch_auto"], runs["codeswitch_mixed"]
    mixed_label = "mixed"
    table = [
        slice_row(language, f"forced {language}", mono, _slice(mono.result, "language", language))
        for language in LANGUAGES
    ]
    table += [
        slice_row("code-switched", "auto", auto, _slice(auto.result, "overall", "all")),
        slice_row("code-switched", mixed_label, mixed, _slice(mixed.result, "overall", "all")),
    ]

    reference_tags, reference_left_out = reference_tag_agreement(list(auto.rows.values()))
    hypothesis: dict[str, Any] = {}
    for mode in CODESWITCH_MODES:
        words, left_out = hypothesis_words(runs[f"codeswitch_{mode}"])
        hypothesis[mode] = {**words.as_dict(), "rows_left_out": left_out}

    if database == THROWAWAY_DATABASE:
        from django.db import connections

        connections.close_all()  # before the work folder, and the database in it, go
    return {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "model": {
            "id": model.model_id,
            "path": _relative(Path(model_path)),
            "checksum": model.checksum,
            "device": model.device,
            "compute_type": model.compute_type,
            "cpu_threads": settings.WHISPER_CPU_THREADS,
            "load_seconds": model.load_seconds,
        },
        "beam_size": BEAM_SIZE,
        "seed": args.seed,
        "database": database,
        "speech_dir": _relative(speech_dir),
        "limit_per_language": args.limit,
        "codeswitch_set": {
            "clips": len(cs_rows),
            "audio_seconds": sum(row["duration_s"] for row in cs_rows),
            "gap_seconds": args.gap,
        },
        "wer_table": [row for row in table if row is not None],
        "runs": {name: run_summary(run) for name, run in runs.items()},
        "word_tags": {
            "reference": {**reference_tags.as_dict(), "rows_left_out": reference_left_out},
            "hypothesis": hypothesis,
        },
        "clips": {
            mode: [
                {
                    "audio": item["audio"],
                    "language_decoded": item["language_decoded"],
                    "wer": item["wer"],
                    "cer": item["cer"],
                    "reference": item["reference"],
                    "hypothesis": item["hypothesis"],
                }
                for item in runs[f"codeswitch_{mode}"].result["items"]
            ]
            for mode in CODESWITCH_MODES
        },
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    builder = load_builder()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--speech",
        type=Path,
        default=builder.default_speech_dir(),
        help="folder with manifest.jsonl and the uz/ru clips (default: ../shared/testdata/speech "
        "when present, else tests/data/speech)",
    )
    parser.add_argument("--out", type=Path, default=DOCS, help="where benchmarks.md/.json go")
    parser.add_argument(
        "--model",
        default="",
        help="CTranslate2 Whisper directory (default: WHISPER_MODEL, the bundled model)",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=None,
        help="code-switched clips (default: twice the smaller of the uz and ru clip counts)",
    )
    parser.add_argument("--gap", type=float, default=0.4, help="pause between joined parts, s")
    parser.add_argument(
        "--limit", type=int, default=None, help="at most N monolingual clips per language"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for the temperature fallback's sampling"
    )
    parser.add_argument(
        "--store",
        action="store_true",
        help="keep the runs in the configured database (for the web app)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="keep the built set, database and per-run reports here",
    )
    args = parser.parse_args(argv)
    for name in ("pairs", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
        figures = benchmark(args, args.work.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="uzwhisper-benchmark-") as work:
            figures = benchmark(args, Path(work))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmarks.json").write_text(
        json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (args.out / "benchmarks.md").write_text(markdown(figures), encoding="utf-8")
    print(f"wrote {args.out / 'benchmarks.md'} and {args.out / 'benchmarks.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
