"""The tiny GGUF generator: determinism, layout, and what Ollama keys on (no server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest

from tests.testbed import tiny_models
from tests.testbed.tiny_models import (
    sha256_of,
    write_completion_model,
    write_embedding_model,
    write_large_model,
)

Writer = Callable[..., None]
TINY_WRITERS = [write_completion_model, write_embedding_model]
VOCAB = 3 + 256 + len(tiny_models.WORD_PIECES)


def field(reader: gguf.GGUFReader, key: str) -> Any:
    found = reader.get_field(key)
    assert found is not None, f"missing key {key}"
    return found.contents()


def shapes(reader: gguf.GGUFReader) -> dict[str, tuple[int, ...]]:
    # GGUFReader reports shapes in ggml `ne` order: (columns, rows).
    return {t.name: tuple(int(d) for d in t.shape) for t in reader.tensors}


@pytest.mark.parametrize("write", TINY_WRITERS)
def test_same_seed_writes_identical_bytes(tmp_path: Path, write: Writer) -> None:
    write(tmp_path / "a.gguf", seed=7)
    write(tmp_path / "b.gguf", seed=7)
    assert (tmp_path / "a.gguf").read_bytes() == (tmp_path / "b.gguf").read_bytes()


@pytest.mark.parametrize("write", TINY_WRITERS)
def test_other_seed_changes_the_digest_not_the_size(tmp_path: Path, write: Writer) -> None:
    write(tmp_path / "a.gguf", seed=0)
    write(tmp_path / "b.gguf", seed=1)
    assert sha256_of(tmp_path / "a.gguf") != sha256_of(tmp_path / "b.gguf")
    assert (tmp_path / "a.gguf").stat().st_size == (tmp_path / "b.gguf").stat().st_size


def test_completion_and_embedding_differ(tmp_path: Path) -> None:
    write_completion_model(tmp_path / "c.gguf")
    write_embedding_model(tmp_path / "e.gguf")
    assert sha256_of(tmp_path / "c.gguf") != sha256_of(tmp_path / "e.gguf")


def test_completion_metadata(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    write_completion_model(path)
    reader = gguf.GGUFReader(path)
    expected = {
        "general.architecture": "llama",
        "general.name": "tiny",
        "general.file_type": 0,  # ALL_F32
        "llama.context_length": 256,
        "llama.embedding_length": 64,
        "llama.block_count": 2,
        "llama.feed_forward_length": 128,
        "llama.attention.head_count": 4,
        "llama.attention.head_count_kv": 4,
        "llama.rope.dimension_count": 16,
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.unknown_token_id": 0,
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
    }
    for key, value in expected.items():
        assert field(reader, key) == value, key
    assert field(reader, "llama.attention.layer_norm_rms_epsilon") == pytest.approx(1e-5)
    # Without these two keys Ollama calls it a completion model with template {{ .Prompt }}.
    assert reader.get_field("llama.pooling_type") is None
    assert reader.get_field("tokenizer.chat_template") is None


def test_vocabulary(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    write_completion_model(path)
    reader = gguf.GGUFReader(path)
    tokens = field(reader, "tokenizer.ggml.tokens")
    types = field(reader, "tokenizer.ggml.token_type")
    assert len(tokens) == len(types) == len(field(reader, "tokenizer.ggml.scores")) == VOCAB
    assert len(set(tokens)) == VOCAB  # llama.cpp asserts uniqueness
    assert tokens[:3] == ["<unk>", "<s>", "</s>"]
    assert tokens[3:259] == [f"<0x{b:02X}>" for b in range(256)]
    assert "\u2581hello" in tokens
    assert types[:3] == [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    assert set(types[3:259]) == {gguf.TokenType.BYTE}
    assert set(types[259:]) == {gguf.TokenType.NORMAL}


def test_tensor_shapes(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    write_completion_model(path)
    reader = gguf.GGUFReader(path)
    found = shapes(reader)
    assert len(found) == 3 + 9 * 2
    assert found["token_embd.weight"] == (64, VOCAB)  # {n_embd, n_vocab}
    assert found["output.weight"] == (64, VOCAB)
    assert found["output_norm.weight"] == (64,)
    for i in range(2):
        assert found[f"blk.{i}.attn_norm.weight"] == (64,)
        assert found[f"blk.{i}.ffn_norm.weight"] == (64,)
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            assert found[f"blk.{i}.{name}.weight"] == (64, 64)
        assert found[f"blk.{i}.ffn_gate.weight"] == (64, 128)
        assert found[f"blk.{i}.ffn_up.weight"] == (64, 128)
        assert found[f"blk.{i}.ffn_down.weight"] == (128, 64)
    assert {t.tensor_type for t in reader.tensors} == {gguf.GGMLQuantizationType.F32}


def test_weights_are_finite_and_norms_are_ones(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    write_completion_model(path, seed=3)
    reader = gguf.GGUFReader(path)
    for tensor in reader.tensors:
        data = np.asarray(tensor.data)
        assert np.isfinite(data).all(), tensor.name
        if tensor.name.endswith("norm.weight"):
            assert (data == 1.0).all(), tensor.name


def test_embedding_model_has_mean_pooling(tmp_path: Path) -> None:
    path = tmp_path / "tiny-embed.gguf"
    write_embedding_model(path)
    reader = gguf.GGUFReader(path)
    assert field(reader, "llama.pooling_type") == int(gguf.PoolingType.MEAN)
    assert field(reader, "general.name") == "tiny-embed"
    assert shapes(reader)["token_embd.weight"] == (64, VOCAB)


@pytest.mark.parametrize("size", [200_000, 3_000_001, 5 << 20])
def test_large_model_size_and_layout(tmp_path: Path, size: int) -> None:
    path = tmp_path / "large.gguf"
    write_large_model(path, size)
    actual = path.stat().st_size
    assert abs(actual - size) <= size / 100
    reader = gguf.GGUFReader(path)
    assert field(reader, "general.architecture") == "llama"
    # Ollama's scheduler needs the token list even to refuse loading the file.
    assert len(field(reader, "tokenizer.ggml.tokens")) == VOCAB
    (tensor,) = reader.tensors
    assert tensor.tensor_type == gguf.GGMLQuantizationType.F32
    assert tensor.data_offset % tiny_models.ALIGNMENT == 0
    assert tensor.data_offset + tensor.n_bytes == actual


def test_large_model_is_deterministic_and_chunk_independent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = 1_000_000
    write_large_model(tmp_path / "a.gguf", size, seed=5)
    write_large_model(tmp_path / "b.gguf", size, seed=6)
    # A chunk size that does not divide the tensor exercises the last short chunk.
    monkeypatch.setattr(tiny_models, "CHUNK_BYTES", 4096 * 3 + 4)
    write_large_model(tmp_path / "c.gguf", size, seed=5)
    assert sha256_of(tmp_path / "a.gguf") == sha256_of(tmp_path / "c.gguf")
    assert sha256_of(tmp_path / "a.gguf") != sha256_of(tmp_path / "b.gguf")


def test_command_line_writes_both_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tiny_models.main([str(tmp_path / "out")])
    printed = capsys.readouterr().out
    for name in ("tiny.gguf", "tiny-embed.gguf"):
        path = tmp_path / "out" / name
        assert f"sha256:{sha256_of(path)}" in printed
