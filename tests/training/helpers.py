"""Evaluation runs made without the model, for page and service tests."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import CLIPS
from training.manifests import Manifest, ManifestRow, SkippedLine
from training.models import EvaluationRun
from training.services import evaluation_item_create, evaluation_run_create, evaluation_run_finish


def row(key: str, line: int, **fields) -> ManifestRow:
    clip = CLIPS[key]
    values = {
        "line": line,
        "audio": f"{clip.language}/{clip.path.name}",
        "audio_path": clip.path,
        "text": clip.text,
        "language": clip.language,
        **fields,
    }
    return ManifestRow(**values)


def make_run(
    *, hypotheses: dict[int, str] | None = None, manifest_name: str = "dev.jsonl"
) -> EvaluationRun:
    """A finished run over one Russian and one Uzbek clip with the given hypotheses (by line)."""
    rows = [row("vm-sorry", 1, source="Asterisk prompts"), row("usc_1131474547_2_29208_1", 3)]
    hypotheses = hypotheses or {1: "Извините, ваш выбор не понят системой.", 3: "ammo boshqa bir"}
    skipped = [SkippedLine(2, "missing_audio", "audio file not found: uz/gone.wav")]
    manifest = Manifest(path=Path("/data") / manifest_name, rows=rows, skipped=skipped)
    run = evaluation_run_create(manifest=manifest, model_path="/models/whisper-base")
    for index, manifest_row in enumerate(rows):
        evaluation_item_create(
            run=run,
            index=index,
            row=manifest_row,
            language_requested=manifest_row.language,
            language_decoded=manifest_row.language,
            hypothesis=hypotheses[manifest_row.line],
            duration_s=3.0,
            processing_seconds=0.3,
        )
    return evaluation_run_finish(run=run, skipped=skipped, processing_seconds=0.6)
