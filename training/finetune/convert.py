"""A trained checkpoint to what serves (CTranslate2 int8) and to ONNX (optimum-onnx), and the three
scored on the same evaluation set with the same greedy decode, so that their WER differs only by
what conversion did. Django-free; training workers only."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from .recipe import (
    Utterance,
    ctranslate2_greedy,
    features_of,
    greedy_generate,
    load_audio,
    load_feature_extractor,
    load_tokenizer,
    prompt_ids,
    text_of,
)
from .scoring import FormatScore, score_format

logger = logging.getLogger(__name__)

COPY_FILES = ["tokenizer.json", "preprocessor_config.json"]


def convert_ctranslate2(checkpoint: Path, target: Path, *, quantization: str = "int8") -> Path:
    """CTranslate2 conversion with the tokenizer and feature-extractor config beside it, built in a
    sibling folder and renamed, so a crash (or a full disk) never leaves half a model behind."""
    from ctranslate2.converters import TransformersConverter

    staging = target.with_name(f".{target.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    TransformersConverter(str(checkpoint), copy_files=COPY_FILES).convert(
        str(staging), quantization=quantization, force=True
    )
    config = json.loads((staging / "config.json").read_text())
    if not config.get("lang_ids"):
        raise RuntimeError(
            "the conversion has no languages: the checkpoint's generation config was not filled"
        )
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target


def export_onnx(checkpoint: Path, target: Path) -> Path:
    """The maintained exporter (optimum-onnx): encoder, decoder and decoder-with-past."""
    from optimum.onnxruntime import ORTModelForSpeechSeq2Seq

    staging = target.with_name(f".{target.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    model = ORTModelForSpeechSeq2Seq.from_pretrained(str(checkpoint), export=True)
    model.save_pretrained(str(staging))
    for name in COPY_FILES:
        if (checkpoint / name).exists():
            shutil.copy2(checkpoint / name, staging / name)
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target


class _Features:
    def __init__(self) -> None:
        self.extractor = load_feature_extractor()
        self.cache: dict[str, Any] = {}

    def __call__(self, row: Utterance) -> Any:
        if row.audio not in self.cache:
            self.cache[row.audio] = features_of(self.extractor, load_audio(row.audio))
        return self.cache[row.audio]


def score_checkpoint(
    checkpoint: Path, rows: list[Utterance], max_new_tokens: int, features: _Features | None = None
) -> FormatScore:
    from transformers import WhisperForConditionalGeneration

    tokenizer = load_tokenizer(checkpoint)
    model = WhisperForConditionalGeneration.from_pretrained(str(checkpoint)).eval()
    features = features or _Features()
    return score_format(
        "checkpoint",
        rows,
        lambda row: text_of(
            tokenizer,
            greedy_generate(
                model, features(row), prompt_ids(tokenizer, row.language), max_new_tokens
            ),
        ),
    )


def score_ctranslate2(
    model_dir: Path,
    rows: list[Utterance],
    max_new_tokens: int,
    features: _Features | None = None,
    *,
    compute_type: str = "int8",
    name: str = "ctranslate2_int8",
) -> FormatScore:
    import ctranslate2

    tokenizer = load_tokenizer(model_dir)
    model = ctranslate2.models.Whisper(str(model_dir), device="cpu", compute_type=compute_type)
    features = features or _Features()
    return score_format(
        name,
        rows,
        lambda row: text_of(
            tokenizer,
            ctranslate2_greedy(
                model, features(row), prompt_ids(tokenizer, row.language), max_new_tokens
            ),
        ),
    )


def score_onnx(
    model_dir: Path, rows: list[Utterance], max_new_tokens: int, features: _Features | None = None
) -> FormatScore:
    from optimum.onnxruntime import ORTModelForSpeechSeq2Seq

    tokenizer = load_tokenizer(model_dir)
    model = ORTModelForSpeechSeq2Seq.from_pretrained(str(model_dir))
    features = features or _Features()
    return score_format(
        "onnx",
        rows,
        lambda row: text_of(
            tokenizer,
            greedy_generate(
                model, features(row), prompt_ids(tokenizer, row.language), max_new_tokens
            ),
        ),
    )


def shared_features() -> _Features:
    return _Features()
