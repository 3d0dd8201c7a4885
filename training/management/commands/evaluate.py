"""`manage.py evaluate --manifest FILE.jsonl`: score a model on a manifest, by slice.

SIGTERM or Ctrl+C stops a run early: it is stored as stopped with the clips scored so far (and
their report), and the command exits with 128 + the signal's number. A run whose process died
without a word (SIGKILL) is marked stopped by the next `evaluate`; pages call it interrupted.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from training.models import EvaluationItem, EvaluationRun
from training.reports import format_table, percent
from training.services import RunStop, evaluation_run_execute, evaluation_runs_stop_stale
from transcription.serving import engine_config
from uzwhisper.lib.manifests import ManifestError, read_manifest


class StopSignals:
    """While entered, SIGTERM and SIGINT (Ctrl+C) ask the run to stop (`RunStop`): at once if it
    is decoding a clip, else after the database write in progress, keeping the clips scored. A
    second signal stops it at once (KeyboardInterrupt), as Ctrl+C would have without this.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.run_stop = RunStop()
        self.received: signal.Signals | None = None
        self._previous: dict[signal.Signals, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():  # signal() works only there
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signal.Signals(signum)
        self.run_stop.request(f"stopped by {self.received.name}")


@contextlib.contextmanager
def quiet_logging(*, verbose: bool) -> Iterator[None]:
    """Log lines printed through tqdm, so they do not break the progress bar; and faster-whisper's
    per-clip INFO lines ("Processing audio with duration …", VAD) left out unless `verbose`."""
    whisper_logger = logging.getLogger("faster_whisper")
    previous = whisper_logger.level
    if not verbose:
        whisper_logger.setLevel(max(previous, logging.WARNING))
    try:
        with logging_redirect_tqdm():
            yield
    finally:
        whisper_logger.setLevel(previous)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def _run_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise ValueError(value)
    return name


class Command(BaseCommand):
    help = (
        "Transcribe every clip of a JSONL manifest, print WER and CER by slice (language, "
        "dialect, code-switched, source), write a JSON result and a Markdown report, and store "
        "the run for the web app. Log lines print above the progress bar; faster-whisper's "
        "per-clip ones only with -v 2."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--manifest", required=True, type=Path, help="JSONL manifest")
        parser.add_argument(
            "--model",
            default="",
            help="CTranslate2 Whisper directory (default: the version in production in the model "
            "registry; WHISPER_MODEL, the bundled model, when none is)",
        )
        parser.add_argument(
            "--language",
            choices=EvaluationRun.LanguageMode.values,
            default=EvaluationRun.LanguageMode.MANIFEST,
            help="manifest (default): force each row's own language; auto: detect uz/ru; "
            "uz, ru: force one; mixed: code-switched decoding (auto until the engine offers it)",
        )
        parser.add_argument("--beam-size", type=_positive, default=1, help="1 = greedy (default)")
        parser.add_argument(
            "--name",
            type=_run_name,
            default=None,
            help="name of the stored run and of its report files (default: the manifest's file "
            "stem, or its folder's name when the file is called manifest.jsonl)",
        )
        parser.add_argument(
            "--out",
            type=Path,
            default=None,
            help="folder for the JSON, Markdown and SVG files (default: var/evaluations)",
        )
        parser.add_argument("--limit", type=_positive, default=None, help="first N usable rows")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            manifest = read_manifest(options["manifest"], limit=options["limit"])
        except ManifestError as exc:
            raise CommandError(str(exc)) from exc
        for skipped in manifest.skipped:
            self.stderr.write(f"skipped {skipped.message(manifest.name)}")
        model_path = options["model"] or engine_config().model_path
        if not (Path(model_path) / "model.bin").is_file():
            raise CommandError(f"no Whisper model at {model_path} (model.bin missing)")
        for stale in evaluation_runs_stop_stale():
            self.stderr.write(f"Run {stale.id} ({stale.name}) now stopped, {stale.error_message}")

        name = options["name"] or manifest.default_run_name
        bar = tqdm(
            total=len(manifest.rows),
            desc=f"evaluate {name}",
            unit="clip",
            file=sys.stderr,
            disable=options["no_progress"],
        )
        word_errors = ref_words = 0

        def progress(done: int, total: int, item: EvaluationItem | None) -> None:
            nonlocal word_errors, ref_words
            if item is not None:
                word_errors += item.substitutions + item.deletions + item.insertions
                ref_words += item.ref_words
                bar.set_postfix(wer=percent(word_errors / ref_words if ref_words else None))
            bar.update(1)

        stop = StopSignals()
        try:
            with stop, quiet_logging(verbose=options["verbosity"] >= 2):
                run = evaluation_run_execute(
                    manifest=manifest,
                    model_path=model_path,
                    language_mode=options["language"],
                    beam_size=options["beam_size"],
                    name=name,
                    # call_command() passes keyword options through without argparse's `type`.
                    out_dir=Path(options["out"]) if options["out"] else None,
                    progress=progress,
                    stop=stop.run_stop,
                )
        except KeyboardInterrupt as exc:
            if stop.received is None:
                raise
            raise CommandError(
                f"Stopped at once by a second {stop.received.name}; the clips scored so far are "
                "kept (run marked stopped)",
                returncode=128 + stop.received,
            ) from exc
        finally:
            bar.close()

        for line in run.skipped[len(manifest.skipped) :]:
            self.stderr.write(f"skipped {manifest.name}:{line['line']}: {line['reason']}")
        self.stdout.write(
            f"Run {run.name} · model {run.model_id} · manifest {run.manifest_name}"
            f" · language {run.language_mode}"
            f" · beam {run.beam_size} · {run.utterances} utterances, {len(run.skipped)} skipped"
        )
        if run.slices:
            self.stdout.write(format_table(run.slices))
        if run.report_path:
            self.stdout.write(f"JSON:   {run.json_path}\nReport: {run.report_path}")
        self.stdout.write(f"Run:    {run.id}")
        if run.status == EvaluationRun.Status.STOPPED:
            scored = f"{run.utterances} clip{'' if run.utterances == 1 else 's'} scored"
            raise CommandError(
                f"Evaluation {run.status}: {run.error_message}. Kept in run {run.id}: the "
                f"{scored} before that" + (", and a partial report." if run.report_path else "."),
                # As a shell reports a process ended by the signal: 143 for SIGTERM, 130 for ^C.
                returncode=128 + stop.received if stop.received else 1,
            )
