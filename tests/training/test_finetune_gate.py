"""The gate and the converted model, on a tiny checkpoint trained here by the real training code:
a deliberately damaged conversion is refused; a good one keeps its languages and word
timestamps in faster-whisper."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from faster_whisper.tokenizer import Tokenizer

from tests.support import TINY_RUN
from training.finetune import convert
from training.finetune.execution import gate_decision
from training.finetune.recipe import load_tokenizer, read_utterances
from training.finetune.train import train
from uzwhisper.asr import engine
from uzwhisper.lib.audio import decode_to_array

from .helpers import tiny_recipe

pytestmark = pytest.mark.slow

LIMIT = TINY_RUN["generation_max_length"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    """A tiny Whisper trained a few steps, its CTranslate2 int8 conversion and the scores."""
    root = tmp_path_factory.mktemp("tiny")
    recipe = tiny_recipe(root, max_steps=2)
    checkpoint = train(recipe)
    rows = read_utterances(recipe.eval_manifest)
    features = convert.shared_features()
    ct2 = convert.convert_ctranslate2(checkpoint, root / "ct2")
    return {
        "root": root,
        "checkpoint": checkpoint,
        "ct2": ct2,
        "rows": rows,
        "features": features,
        "scores": {
            "checkpoint": convert.score_checkpoint(checkpoint, rows, LIMIT, features).as_dict(),
            "ctranslate2_int8": convert.score_ctranslate2(ct2, rows, LIMIT, features).as_dict(),
        },
    }


def damaged_copy(checkpoint: Path, target: Path) -> Path:
    """The checkpoint with its decoder's last layer norm flattened to one fixed vector: every
    step then scores the same token highest, so a conversion of it repeats one word until the
    length limit (the loop users of converted fine-tunes report)."""
    import torch
    from transformers import WhisperForConditionalGeneration

    shutil.copytree(checkpoint, target)
    model = WhisperForConditionalGeneration.from_pretrained(str(target))
    (word,) = load_tokenizer(checkpoint).encode(" и", add_special_tokens=False)
    norm = model.model.decoder.layer_norm
    with torch.no_grad():
        norm.weight.zero_()
        norm.bias.copy_(model.proj_out.weight[word] * 10)
    model.save_pretrained(str(target))
    return target


def test_the_gate_refuses_a_damaged_conversion_and_passes_the_real_one(tiny):
    damaged = convert.convert_ctranslate2(
        damaged_copy(tiny["checkpoint"], tiny["root"] / "damaged"), tiny["root"] / "damaged-ct2"
    )
    damaged_score = convert.score_ctranslate2(damaged, tiny["rows"], LIMIT, tiny["features"])
    margin = settings.TRAIN_GATE_MARGIN

    good = gate_decision(scores=tiny["scores"], margin=margin)
    bad = gate_decision(
        scores={**tiny["scores"], "ctranslate2_int8": damaged_score.as_dict()}, margin=margin
    )

    assert good["passed"] is True
    assert good["deltas"]["ctranslate2_int8"] <= margin
    assert bad["passed"] is False
    assert bad["refused"] == ["ctranslate2_int8"]
    assert bad["deltas"]["ctranslate2_int8"] > margin
    artifacts = Path(settings.BASE_DIR) / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "finetune-gate-deltas.json").write_text(
        json.dumps({"margin": margin, "good": good["deltas"], "damaged": bad["deltas"]}, indent=2)
        + "\n"
    )


def test_the_conversion_keeps_languages_and_word_timestamps(tiny, ru_clip):
    config = json.loads((tiny["ct2"] / "config.json").read_text())
    assert len(config["lang_ids"]) == 99
    model = engine.get_model(engine.EngineConfig(model_path=str(tiny["ct2"]), device="cpu"))
    try:
        audio = decode_to_array(ru_clip.path)
        # Language detection reads the languages the conversion kept (an empty list fails).
        language, share = engine.detect_language(model, audio, vad_filter=False)
        assert language in ("uz", "ru")
        assert 0.0 <= share <= 1.0
        # Word timestamps: faster-whisper aligns words with the alignment heads' cross-attention.
        whisper = model.whisper
        features = whisper.feature_extractor(audio)[:, :3000]
        encoded = whisper.encode(np.pad(features, ((0, 0), (0, 3000 - features.shape[1]))))
        tokenizer = load_tokenizer(tiny["ct2"])
        words = ["Добрый", "день"]
        text_tokens = [tokenizer.encode(" " + w, add_special_tokens=False) for w in words]
        (alignment,) = whisper.find_alignment(
            Tokenizer(whisper.hf_tokenizer, True, task="transcribe", language="ru"),
            [[t for tokens in text_tokens for t in tokens]],
            encoded,
            features.shape[1],
        )
        timed = [w for w in alignment if w["word"].strip()]
        assert [w["word"].strip() for w in timed] == words
        assert all(0.0 <= w["start"] <= w["end"] for w in timed)
        # And the whole path: faster-whisper's own transcribe writes segments with timestamps
        # (the fine-tune kept its timestamp tokens) and words with times inside them.
        segments, _ = whisper.transcribe(
            audio,
            language="ru",
            word_timestamps=True,
            temperature=0.0,
            vad_filter=False,
            condition_on_previous_text=False,
        )
        segments = [s for s in segments if s.words]
        assert segments
        duration = len(audio) / 16000
        for segment in segments:
            assert 0.0 <= segment.start <= segment.end <= duration + 0.1
            for word in segment.words:
                assert segment.start - 0.01 <= word.start <= word.end <= segment.end + 0.01
    finally:
        engine.release_model(engine.EngineConfig(model_path=str(tiny["ct2"]), device="cpu"))
