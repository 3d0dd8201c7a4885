"""A transformers checkpoint of the bundled Whisper base, rebuilt from its CTranslate2 `model.bin`
(no model hub is reachable, and fine-tune runs start from `<version dir>/hf`). Django-free and
heavy (torch, transformers): the `rebuild_base_checkpoint` command and training workers only.

CTranslate2's `model.bin` (written by `ctranslate2.specs.model_spec.ModelSpec._serialize`), all
integers little-endian: u32 binary version, string spec name, u32 spec revision, u32 variable
count, then per variable: string name, u8 rank, u32 per dimension, u8 dtype id (float32, int8,
int16, int32, float16, bfloat16), u32 byte count, raw row-major data; then u32 alias count and
(alias, target) string pairs. A string is a u16 length (counting a trailing NUL), then UTF-8 bytes
and the NUL.

The Whisper name mapping inverts `ctranslate2.converters.transformers.WhisperLoader`: self-attention
q/k/v are fused into `linear_0` (k's missing bias stored as zeros), cross-attention keeps q in
`linear_0` and fuses k/v into `linear_1`, the output projection is the last linear; layer norms are
`gamma`/`beta`; both position tables are stored (the encoder's sinusoids included); the decoder's
output projection is an alias of the token embeddings (tied, as in transformers).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .recipe import VOCAB_SIZE, fill_generation_config, load_feature_extractor, load_tokenizer

logger = logging.getLogger(__name__)

HF_DIR = "hf"
# Written last into the checkpoint: the checksum of the model.bin it was rebuilt from.
SOURCE_FILE = "source.sha256"
SUPPORTED_BINARY_VERSIONS = (5, 6)
_DTYPES: dict[int, Any] = {
    0: np.float32,
    1: np.int8,
    2: np.int16,
    3: np.int32,
    4: np.float16,
}
# openai/whisper-base; CTranslate2's config.json has none of these.
BASE_DIMENSIONS = {
    "d_model": 512,
    "encoder_layers": 6,
    "decoder_layers": 6,
    "encoder_attention_heads": 8,
    "decoder_attention_heads": 8,
    "encoder_ffn_dim": 2048,
    "decoder_ffn_dim": 2048,
    "num_mel_bins": 80,
    "max_source_positions": 1500,
    "max_target_positions": 448,
    "vocab_size": VOCAB_SIZE,
}


class CheckpointRebuildError(RuntimeError):
    pass


# --- reading model.bin ----------------------------------------------------------------------


def _unpack(handle: BinaryIO, fmt: str) -> int:
    size = struct.calcsize(fmt)
    data = handle.read(size)
    if len(data) != size:
        raise CheckpointRebuildError("model.bin ends early")
    return int(struct.unpack("<" + fmt, data)[0])


def _string(handle: BinaryIO) -> str:
    length = _unpack(handle, "H")
    return handle.read(length)[:-1].decode("utf-8")


def read_ct2_variables(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    """The spec name and every variable of a CTranslate2 model.bin, aliases resolved."""
    variables: dict[str, np.ndarray] = {}
    with Path(path).open("rb") as handle:
        version = _unpack(handle, "I")
        if version not in SUPPORTED_BINARY_VERSIONS:
            raise CheckpointRebuildError(f"model.bin binary version {version} is not supported")
        spec = _string(handle)
        _unpack(handle, "I")  # spec revision
        for _ in range(_unpack(handle, "I")):
            name = _string(handle)
            shape = [_unpack(handle, "I") for _ in range(_unpack(handle, "B"))]
            type_id = _unpack(handle, "B")
            size = _unpack(handle, "I")
            if type_id not in _DTYPES:
                raise CheckpointRebuildError(f"{name}: dtype id {type_id} is not supported")
            data = np.frombuffer(handle.read(size), dtype=_DTYPES[type_id])
            variables[name] = data.reshape(shape)
        for _ in range(_unpack(handle, "I")):
            alias, target = _string(handle), _string(handle)
            variables[alias] = variables[target]
    return spec, variables


# --- mapping --------------------------------------------------------------------------------


def _linear(out: dict[str, np.ndarray], prefix: str, ct2: dict[str, np.ndarray], name: str) -> None:
    out[f"{prefix}.weight"] = ct2[f"{name}/weight"]
    out[f"{prefix}.bias"] = ct2[f"{name}/bias"]


def _norm(out: dict[str, np.ndarray], prefix: str, ct2: dict[str, np.ndarray], name: str) -> None:
    out[f"{prefix}.weight"] = ct2[f"{name}/gamma"]
    out[f"{prefix}.bias"] = ct2[f"{name}/beta"]


def _split(array: np.ndarray, parts: int) -> list[np.ndarray]:
    return list(np.split(array, parts, axis=0))


def _self_attention(
    out: dict[str, np.ndarray], prefix: str, ct2: dict[str, np.ndarray], name: str
) -> None:
    q_w, k_w, v_w = _split(ct2[f"{name}/linear_0/weight"], 3)
    q_b, k_b, v_b = _split(ct2[f"{name}/linear_0/bias"], 3)
    if np.any(k_b):
        raise CheckpointRebuildError(
            f"{name}: the key bias is not zero (Whisper's k_proj has none)"
        )
    out[f"{prefix}.q_proj.weight"], out[f"{prefix}.q_proj.bias"] = q_w, q_b
    out[f"{prefix}.k_proj.weight"] = k_w
    out[f"{prefix}.v_proj.weight"], out[f"{prefix}.v_proj.bias"] = v_w, v_b
    _linear(out, f"{prefix}.out_proj", ct2, f"{name}/linear_1")


def _cross_attention(
    out: dict[str, np.ndarray], prefix: str, ct2: dict[str, np.ndarray], name: str
) -> None:
    _linear(out, f"{prefix}.q_proj", ct2, f"{name}/linear_0")
    k_w, v_w = _split(ct2[f"{name}/linear_1/weight"], 2)
    k_b, v_b = _split(ct2[f"{name}/linear_1/bias"], 2)
    if np.any(k_b):
        raise CheckpointRebuildError(
            f"{name}: the key bias is not zero (Whisper's k_proj has none)"
        )
    out[f"{prefix}.k_proj.weight"] = k_w
    out[f"{prefix}.v_proj.weight"], out[f"{prefix}.v_proj.bias"] = v_w, v_b
    _linear(out, f"{prefix}.out_proj", ct2, f"{name}/linear_2")


def hf_state_dict(
    ct2: dict[str, np.ndarray], *, encoder_layers: int, decoder_layers: int
) -> dict[str, np.ndarray]:
    """WhisperForConditionalGeneration's state dict (float32 arrays) from CT2 variables."""
    out: dict[str, np.ndarray] = {}
    for conv in ("conv1", "conv2"):
        _linear(out, f"model.encoder.{conv}", ct2, f"encoder/{conv}")
    out["model.encoder.embed_positions.weight"] = ct2["encoder/position_encodings/encodings"]
    _norm(out, "model.encoder.layer_norm", ct2, "encoder/layer_norm")
    for i in range(encoder_layers):
        hf, c = f"model.encoder.layers.{i}", f"encoder/layer_{i}"
        _self_attention(out, f"{hf}.self_attn", ct2, f"{c}/self_attention")
        _norm(out, f"{hf}.self_attn_layer_norm", ct2, f"{c}/self_attention/layer_norm")
        _linear(out, f"{hf}.fc1", ct2, f"{c}/ffn/linear_0")
        _linear(out, f"{hf}.fc2", ct2, f"{c}/ffn/linear_1")
        _norm(out, f"{hf}.final_layer_norm", ct2, f"{c}/ffn/layer_norm")
    out["model.decoder.embed_tokens.weight"] = ct2["decoder/embeddings/weight"]
    out["model.decoder.embed_positions.weight"] = ct2["decoder/position_encodings/encodings"]
    _norm(out, "model.decoder.layer_norm", ct2, "decoder/layer_norm")
    for i in range(decoder_layers):
        hf, c = f"model.decoder.layers.{i}", f"decoder/layer_{i}"
        _self_attention(out, f"{hf}.self_attn", ct2, f"{c}/self_attention")
        _norm(out, f"{hf}.self_attn_layer_norm", ct2, f"{c}/self_attention/layer_norm")
        _cross_attention(out, f"{hf}.encoder_attn", ct2, f"{c}/attention")
        _norm(out, f"{hf}.encoder_attn_layer_norm", ct2, f"{c}/attention/layer_norm")
        _linear(out, f"{hf}.fc1", ct2, f"{c}/ffn/linear_0")
        _linear(out, f"{hf}.fc2", ct2, f"{c}/ffn/linear_1")
        _norm(out, f"{hf}.final_layer_norm", ct2, f"{c}/ffn/layer_norm")
    projection = ct2.get("decoder/projection/weight", ct2["decoder/embeddings/weight"])
    out["proj_out.weight"] = projection
    return {name: np.asarray(value, dtype=np.float32) for name, value in out.items()}


# --- the checkpoint -------------------------------------------------------------------------


def whisper_config(tokenizer: Any) -> Any:
    from transformers import WhisperConfig

    eot = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    return WhisperConfig(
        **BASE_DIMENSIONS,
        decoder_start_token_id=tokenizer.convert_tokens_to_ids("<|startoftranscript|>"),
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        activation_function="gelu",
        scale_embedding=False,
        tie_word_embeddings=True,
    )


def build_base_model(ct2_dir: Path) -> tuple[Any, Any]:
    """The rebuilt WhisperForConditionalGeneration (float32, generation config filled) and its
    tokenizer."""
    import torch
    from transformers import WhisperForConditionalGeneration

    spec, ct2 = read_ct2_variables(ct2_dir / "model.bin")
    if spec != "WhisperSpec":
        raise CheckpointRebuildError(f"{ct2_dir}/model.bin holds a {spec}, not a Whisper model")
    heads = int(ct2["encoder/num_heads"])
    layers = {
        side: len({n.split("/")[1] for n in ct2 if re.match(rf"{side}/layer_\d+/", n)})
        for side in ("encoder", "decoder")
    }
    expected = (
        BASE_DIMENSIONS["encoder_attention_heads"],
        BASE_DIMENSIONS["encoder_layers"],
        BASE_DIMENSIONS["decoder_layers"],
    )
    if (heads, layers["encoder"], layers["decoder"]) != expected or ct2[
        "decoder/embeddings/weight"
    ].shape != (VOCAB_SIZE, BASE_DIMENSIONS["d_model"]):
        raise CheckpointRebuildError(
            f"{ct2_dir} is not a multilingual Whisper base ({heads} heads, {layers} layers)"
        )
    tokenizer = load_tokenizer(ct2_dir)
    model = WhisperForConditionalGeneration(whisper_config(tokenizer))
    state = {
        name: torch.from_numpy(value.copy())
        for name, value in hf_state_dict(
            ct2, encoder_layers=layers["encoder"], decoder_layers=layers["decoder"]
        ).items()
    }
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointRebuildError(
            f"state dict mismatch: missing {result.missing_keys}, "
            f"unexpected {result.unexpected_keys}"
        )
    model.tie_weights()
    fill_generation_config(model, tokenizer, base_ct2_config=str(ct2_dir / "config.json"))
    # As openai/whisper-base's generation config (transformers' default stops after 20 tokens).
    model.generation_config.max_length = BASE_DIMENSIONS["max_target_positions"]
    return model.eval(), tokenizer


def checkpoint_dir(ct2_dir: Path) -> Path:
    return Path(ct2_dir) / HF_DIR


def _source_checksum(ct2_dir: Path) -> str:
    from uzwhisper.lib.model_bundle import CHECKSUM_FILE, sha256_of

    marker = ct2_dir / CHECKSUM_FILE
    if marker.is_file():
        return marker.read_text().strip()
    return sha256_of(ct2_dir / "model.bin")


def is_rebuilt(ct2_dir: Path) -> bool:
    marker = checkpoint_dir(ct2_dir) / SOURCE_FILE
    return marker.is_file() and marker.read_text().strip() == _source_checksum(Path(ct2_dir))


def rebuild_base_checkpoint(ct2_dir: Path, *, force: bool = False) -> Path:
    """Write `<ct2_dir>/hf` (safetensors, tokenizer, feature extractor, generation config) and
    return it. Idempotent: a checkpoint already rebuilt from this model.bin is kept. Built in a
    sibling folder and renamed, so a crash never leaves half a checkpoint behind."""
    ct2_dir = Path(ct2_dir)
    target = checkpoint_dir(ct2_dir)
    if not (ct2_dir / "model.bin").is_file():
        raise CheckpointRebuildError(f"{ct2_dir} has no model.bin")
    if is_rebuilt(ct2_dir) and not force:
        return target
    model, tokenizer = build_base_model(ct2_dir)
    staging = target.with_name(f".{target.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        model.save_pretrained(str(staging), safe_serialization=True)
        tokenizer.save_pretrained(str(staging))
        load_feature_extractor().save_pretrained(str(staging))
        (staging / SOURCE_FILE).write_text(_source_checksum(ct2_dir) + "\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("rebuilt %s", json.dumps({"checkpoint": str(target)}))
    return target
