"""Writes for the training app: running an evaluation and storing its results."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from uzwhisper.asr.languages import SAMPLE_RATE
from uzwhisper.lib.audio import decode_to_array
from uzwhisper.lib.manifests import Manifest, ManifestRow, SkippedLine
from uzwhisper.lib.metrics import (
    ErrorCounts,
    SliceResult,
    aggregate_by_slice,
    score_utterance,
    slice_values,
)

from .models import EvaluationItem, EvaluationRun
from .reports import markdown_report, wer_chart_svg
from .selectors import (
    EVALUATION_STALE_AFTER,
    evaluation_run_file_stem,
    evaluation_run_result,
    evaluation_runs_stale,
)

if TYPE_CHECKING:
    import numpy as np

    from uzwhisper.asr.engine import LoadedModel

logger = logging.getLogger(__name__)

# Called after each manifest row: (rows done, rows in all, the stored item or None if skipped).
Progress = Callable[[int, int, EvaluationItem | None], None]
# How often a run records that its process is alive, at most (checked between segments).
HEARTBEAT_EVERY_SECONDS = 5.0


def requested_language(mode: str, row_language: str) -> str:
    """What the engine is asked to decode a row with: `manifest` takes each row's own label,
    any other mode is used for every row."""
    return row_language if mode == EvaluationRun.LanguageMode.MANIFEST else mode


@transaction.atomic
def evaluation_run_create(
    *,
    manifest: Manifest,
    model_path: str,
    language_mode: str = "manifest",
    beam_size: int = 1,
    name: str = "",
) -> EvaluationRun:
    """A running run; `name` defaults to the manifest's (`Manifest.default_run_name`)."""
    now = timezone.now()
    run = EvaluationRun(
        created_at=now,
        started_at=now,
        heartbeat_at=now,
        status=EvaluationRun.Status.RUNNING,
        name=name.strip() or manifest.default_run_name,
        model_path=model_path,
        manifest_name=manifest.name,
        manifest_path=str(manifest.path.resolve()),
        language_mode=language_mode,
        beam_size=beam_size,
        skipped=[s.as_dict() for s in manifest.skipped],
    )
    run.full_clean()
    run.save()
    return run


@transaction.atomic
def evaluation_item_create(
    *,
    run: EvaluationRun,
    index: int,
    row: ManifestRow,
    language_requested: str,
    language_decoded: str,
    hypothesis: str,
    duration_s: float,
    processing_seconds: float,
) -> EvaluationItem:
    score = score_utterance(row.text, hypothesis, language=row.language)
    counts = score.counts
    item = EvaluationItem(
        run=run,
        index=index,
        line=row.line,
        audio=row.audio,
        duration_s=duration_s,
        language=row.language,
        language_requested=language_requested,
        language_decoded=language_decoded,
        dialect=row.dialect,
        speaker=row.speaker,
        source=row.source[:500],
        code_switched=row.is_code_switched,
        reference=row.text,
        hypothesis=hypothesis,
        reference_normalised=score.reference,
        hypothesis_normalised=score.hypothesis,
        ref_words=counts.ref_words,
        substitutions=counts.substitutions,
        deletions=counts.deletions,
        insertions=counts.insertions,
        ref_chars=counts.ref_chars,
        char_errors=counts.char_errors,
        wer=score.wer,
        cer=score.cer,
        processing_seconds=processing_seconds,
    )
    item.full_clean()
    item.save()
    return item


def _item_counts(item: EvaluationItem) -> ErrorCounts:
    return ErrorCounts(
        utterances=1,
        ref_words=item.ref_words,
        substitutions=item.substitutions,
        deletions=item.deletions,
        insertions=item.insertions,
        ref_chars=item.ref_chars,
        char_errors=item.char_errors,
    )


def evaluation_slices(items: list[EvaluationItem]) -> list[SliceResult]:
    return aggregate_by_slice(
        (
            slice_values(
                language=item.language,
                dialect=item.dialect,
                code_switched=item.code_switched,
                source=item.source,
            ),
            _item_counts(item),
        )
        for item in items
    )


def _aggregate(run: EvaluationRun) -> None:
    """Set the run's overall and per-slice results from its stored items (none: no results)."""
    items = list(run.items.all())
    slices = evaluation_slices(items) if items else []
    overall = slices[0].counts if slices else None
    run.utterances = overall.utterances if overall else 0
    run.wer = overall.wer if overall else None
    run.cer = overall.cer if overall else None
    run.slices = [s.as_dict() for s in slices]
    run.audio_seconds = sum(item.duration_s for item in items)


@transaction.atomic
def evaluation_run_finish(
    *, run: EvaluationRun, skipped: list[SkippedLine], processing_seconds: float
) -> EvaluationRun:
    """Aggregate the stored items into the run's overall and per-slice results."""
    _aggregate(run)
    run.status = EvaluationRun.Status.DONE
    run.finished_at = timezone.now()
    run.skipped = [s.as_dict() for s in skipped]
    run.processing_seconds = processing_seconds
    run.full_clean()
    run.save()
    return run


def evaluation_run_heartbeat(*, run: EvaluationRun) -> bool:
    """Record that the run's process is alive. False when the run is no longer running (another
    process marked it stopped): its process should stop too."""
    now = timezone.now()
    alive = EvaluationRun.objects.filter(id=run.id, status=EvaluationRun.Status.RUNNING).update(
        heartbeat_at=now
    )
    if alive:
        run.heartbeat_at = now
    return bool(alive)


@transaction.atomic
def evaluation_run_mark_stopped(
    *,
    run: EvaluationRun,
    reason: str,
    skipped: list[SkippedLine] | None = None,
    processing_seconds: float | None = None,
    silent_since_before: datetime | None = None,
) -> EvaluationRun:
    """End a running run early, keeping the clips it scored (aggregated as a finished run's) and
    `reason` as its message. `skipped` and `processing_seconds` default to what is stored.

    Only a run still running is stopped, and with `silent_since_before` only one whose last
    heartbeat is older than that; otherwise the run is returned as the database holds it.
    """
    claim = EvaluationRun.objects.select_for_update().filter(
        id=run.id, status=EvaluationRun.Status.RUNNING
    )
    if silent_since_before is not None:
        claim = claim.filter(heartbeat_at__lt=silent_since_before)
    if not claim.exists():
        run.refresh_from_db()
        return run
    run.refresh_from_db()
    _aggregate(run)
    run.status = EvaluationRun.Status.STOPPED
    run.error_message = reason[:5000]
    run.finished_at = timezone.now()
    if skipped is not None:
        run.skipped = [s.as_dict() for s in skipped]
    run.processing_seconds = (
        processing_seconds
        if processing_seconds is not None
        else sum(item.processing_seconds for item in run.items.all())
    )
    run.full_clean()
    run.save()
    return run


def evaluation_runs_stop_stale(*, now: datetime | None = None) -> list[EvaluationRun]:
    """Mark stopped every run left `running` by a process that ended without a word (SIGKILL,
    a crash, the machine stopped): see `selectors.EVALUATION_STALE_AFTER`. Returns them."""
    now = now or timezone.now()
    stopped = []
    for stale in evaluation_runs_stale(now=now):
        since = timezone.localtime(stale.heartbeat_at)
        run = evaluation_run_mark_stopped(
            run=stale,
            reason=f"interrupted: no progress since {since:%Y-%m-%d %H:%M:%S %Z} (its process "
            "ended without finishing: killed, or the machine stopped)",
            silent_since_before=now - EVALUATION_STALE_AFTER,
        )
        if run.status == EvaluationRun.Status.STOPPED:
            stopped.append(run)
    return stopped


@transaction.atomic
def evaluation_run_mark_failed(*, run: EvaluationRun, message: str) -> EvaluationRun:
    run.status = EvaluationRun.Status.FAILED
    run.error_message = message[:5000]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error_message", "finished_at"])
    return run


@transaction.atomic
def evaluation_run_write_reports(*, run: EvaluationRun, out_dir: Path) -> EvaluationRun:
    """Write `<stem>.json`, `<stem>.md` and the chart `<stem>.svg` under `out_dir`, and keep the
    Markdown on the run so the web app does not depend on the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = evaluation_run_file_stem(run)
    result = evaluation_run_result(run)
    json_path = out_dir / f"{stem}.json"
    chart_path = out_dir / f"{stem}.svg"
    report_path = out_dir / f"{stem}.md"
    json_path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    chart_path.write_text(wer_chart_svg(result["slices"]) + "\n", encoding="utf-8")
    run.report_markdown = markdown_report(result, chart_file=chart_path.name)
    report_path.write_text(run.report_markdown, encoding="utf-8")
    run.json_path = str(json_path)
    run.report_path = str(report_path)
    run.save(update_fields=["report_markdown", "json_path", "report_path"])
    return run


def _decode_row(row: ManifestRow) -> np.ndarray:
    audio = decode_to_array(row.audio_path)
    if audio.size == 0:
        raise ValueError("the audio decodes to no samples")
    return audio


def _transcribe(
    model: LoadedModel,
    audio: np.ndarray,
    language: str,
    beam_size: int,
    between_segments: Callable[[], None],
) -> tuple[str, str]:
    """The hypothesis for `audio` and the language it was decoded with. `between_segments` runs
    after each decoded segment, and may raise to abandon the clip."""
    from uzwhisper.asr import engine

    options = engine.TranscribeOptions(
        language=language, beam_size=beam_size, vad_filter=True, word_timestamps=False
    )
    result = engine.transcribe(model, audio, options)
    texts = []
    for segment in result.segments:
        texts.append(segment.text)
        between_segments()
    return " ".join(texts).strip(), result.language


class StopRequested(BaseException):
    """Ends a run early (see `RunStop`). A BaseException, as KeyboardInterrupt is, so that no
    `except Exception` on its way out of a decode swallows it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RunStop:
    """A caller's way to stop a running evaluation early; `request` may be called from a signal
    handler. The run stops at once if it is decoding a clip (the clip is dropped: decoding is
    pure computation) and otherwise at its next check, so a database write or a report is never
    cut off half-way.
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self._decoding = False

    def request(self, reason: str) -> None:
        self.reason = reason
        if self._decoding:
            self._decoding = False
            raise StopRequested(reason)

    def check(self) -> None:
        if self.reason:
            raise StopRequested(self.reason)

    @contextlib.contextmanager
    def decoding(self) -> Iterator[None]:
        """A stretch that `request` may interrupt."""
        self.check()
        self._decoding = True
        try:
            yield
        finally:
            self._decoding = False

    @contextlib.contextmanager
    def shielded(self) -> Iterator[None]:
        """A stretch inside `decoding` that `request` must not interrupt (a database write)."""
        decoding, self._decoding = self._decoding, False
        try:
            yield
        finally:
            self._decoding = decoding
        self.check()


def evaluation_run_execute(
    *,
    manifest: Manifest,
    model_path: str | None = None,
    language_mode: str = "manifest",
    beam_size: int = 1,
    name: str = "",
    out_dir: Path | None = None,
    progress: Progress | None = None,
    stop: RunStop | None = None,
) -> EvaluationRun:
    """Transcribe every row of `manifest` with the model at `model_path` (the configured one by
    default), score it, store the run with its items, and write the JSON and Markdown reports,
    named after `name` (default: the manifest's, see `Manifest.default_run_name`).

    A clip that cannot be decoded is recorded as skipped and the run goes on. When `stop` is
    requested, or another process has marked the run stopped, the clip in progress is dropped
    and the run is returned stopped, with the clips scored so far aggregated and, if there are
    any, reported. Anything else that ends the run (the model missing, an error) marks it
    failed, or stopped if a stop was requested, before the error propagates. Runs in the calling
    process: it loads the model, so it belongs in a command or a worker.
    """
    from transcription.serving import engine_config
    from uzwhisper.asr import engine

    model_path = model_path or settings.WHISPER_MODEL
    out_dir = out_dir or Path(settings.VAR_DIR) / "evaluations"
    run = evaluation_run_create(
        manifest=manifest,
        model_path=model_path,
        language_mode=language_mode,
        beam_size=beam_size,
        name=name,
    )
    skipped = list(manifest.skipped)
    total = len(manifest.rows)
    rows_done = 0
    started = last_heartbeat = time.perf_counter()

    run_stop = stop or RunStop()

    def checkpoint() -> None:
        """Stop if asked to; otherwise show the process is alive (at most every few seconds)."""
        nonlocal last_heartbeat
        with run_stop.shielded():
            if time.perf_counter() - last_heartbeat >= HEARTBEAT_EVERY_SECONDS:
                if not evaluation_run_heartbeat(run=run):
                    raise StopRequested("marked stopped by another process")
                last_heartbeat = time.perf_counter()

    def stop_message(reason: str) -> str:
        return f"{reason} after {rows_done} of {total} manifest rows"

    try:
        model = engine.get_model(dataclasses.replace(engine_config(), model_path=model_path))
        run.model_id, run.model_checksum = model.model_id, model.checksum
        run.save(update_fields=["model_id", "model_checksum"])
        started = time.perf_counter()
        for index, row in enumerate(manifest.rows):
            checkpoint()
            language = requested_language(language_mode, row.language)
            item_started = time.perf_counter()
            try:
                audio = _decode_row(row)
            except Exception as exc:  # a bad clip must not end the run: report it instead
                logger.warning("Skipping line %s (%s): %s", row.line, row.audio, exc)
                skipped.append(
                    SkippedLine(row.line, "unreadable_audio", f"cannot decode {row.audio}: {exc}")
                )
                rows_done = index + 1
                if progress:
                    progress(index + 1, total, None)
                continue
            with run_stop.decoding():
                hypothesis, decoded = _transcribe(model, audio, language, beam_size, checkpoint)
            item = evaluation_item_create(
                run=run,
                index=index,
                row=row,
                language_requested=language,
                language_decoded=decoded,
                hypothesis=hypothesis,
                duration_s=audio.size / SAMPLE_RATE,
                processing_seconds=time.perf_counter() - item_started,
            )
            rows_done = index + 1
            if progress:
                progress(index + 1, total, item)
        if not run.items.exists():
            raise RuntimeError("no clip of the manifest could be decoded")
        evaluation_run_finish(
            run=run, skipped=skipped, processing_seconds=time.perf_counter() - started
        )
        return evaluation_run_write_reports(run=run, out_dir=out_dir)
    except StopRequested as stopped:
        run = evaluation_run_mark_stopped(
            run=run,
            reason=stop_message(stopped.reason),
            skipped=skipped,
            processing_seconds=time.perf_counter() - started,
        )
        if run.utterances:
            run = evaluation_run_write_reports(run=run, out_dir=out_dir)
        return run
    except BaseException as exc:
        if run_stop.reason:  # asked to stop, then made to stop at once (a second Ctrl+C)
            evaluation_run_mark_stopped(run=run, reason=stop_message(f"{run_stop.reason}, at once"))
        else:
            evaluation_run_mark_failed(run=run, message=f"{type(exc).__name__}: {exc}")
        raise
