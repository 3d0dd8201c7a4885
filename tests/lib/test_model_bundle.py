from __future__ import annotations

import pytest

from uzwhisper.lib import model_bundle


def test_bundled_model_assembles_and_matches_its_pinned_checksum(tmp_path):
    target = model_bundle.assemble_bundled_model(tmp_path / "whisper-base")
    assert model_bundle.is_assembled(target)
    assert model_bundle.sha256_of(target / "model.bin") == model_bundle.MODEL_BIN_SHA256
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (target / name).stat().st_size > 0
    # Idempotent: a second call finds it in place and leaves no staging folders.
    assert model_bundle.assemble_bundled_model(target) == target
    assert [p.name for p in tmp_path.iterdir()] == ["whisper-base"]


def test_a_damaged_part_is_caught_by_the_checksum(tmp_path, monkeypatch):
    real = model_bundle._package_data_dir

    def damaged(package):
        data = real(package)
        if package.endswith("part2"):
            copy = tmp_path / "part2"
            copy.mkdir()
            blob = bytearray((data / "model.bin.part2").read_bytes())
            blob[1000] ^= 0xFF
            (copy / "model.bin.part2").write_bytes(bytes(blob))
            return copy
        return data

    monkeypatch.setattr(model_bundle, "_package_data_dir", damaged)
    with pytest.raises(model_bundle.ModelBundleError, match="checksum mismatch"):
        model_bundle.assemble_bundled_model(tmp_path / "model")
    assert not (tmp_path / "model").exists()
