"""Tiny, deterministic GGUF models that a real Ollama v0.11.4 server loads.

Five kinds of file, all written with the `gguf` package:

- a completion model: a 2-block `llama` with a 265-token SentencePiece-style
  vocabulary, random F32 weights from a seeded generator (about 470 KB);
- an embedding model: the same with `llama.pooling_type` = mean, which is what
  makes Ollama list the capability "embedding" instead of "completion";
- an F16 completion model: the same llama with F16 matrices and file type
  MOSTLY_F16, the input `quantize` needs (v0.11.4 reads file type 0, ALL_F32,
  as "unknown" and refuses to quantize it);
- a LoRA adapter for the tiny llama: `general.type` = adapter, `adapter.type`
  = lora, and a rank-4 `lora_a`/`lora_b` pair for attn_q and attn_v of every
  block, shaped as llama.cpp's adapter loader checks them;
- a large model: one big F32 tensor and the least metadata `ollama create`
  needs, written in chunks, for upload benchmarks. It is not meant to run.

The same seed always writes a byte-identical file; another seed writes other
weights, hence another sha256. Tests use that to make a tag "move" upstream.

There is deliberately no `tokenizer.chat_template`: Ollama v0.11.4 then
autodetects no template at create time, adds no template or params layer, and
serves the model with its default template `{{ .Prompt }}` (the prompt passed
through verbatim), so nothing in the catalogue depends on template matching.

Run `python -m tests.testbed.tiny_models OUTDIR` to write tiny.gguf and
tiny-embed.gguf and print their sizes and sha256.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np
import numpy.typing as npt

ARCH = "llama"
F32Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Hyper:
    """Hyper-parameters of the tiny llama (checked to load in llama.cpp)."""

    embedding: int = 64
    blocks: int = 2
    heads: int = 4
    kv_heads: int = 4
    feed_forward: int = 128
    context: int = 256
    rms_eps: float = 1e-5

    @property
    def head_dim(self) -> int:
        # llama.cpp requires rope.dimension_count == embedding / heads when present.
        return self.embedding // self.heads


TINY = Hyper()

# A few word pieces. SPM builds a piece only by merging two adjacent pieces
# already in the vocabulary, so "\u2581hello" needs the whole chain
# he + ll -> hell, hell + o -> hello, \u2581 + hello -> \u2581hello; with it the prompt
# "hello" is one token. Everything else falls back to the byte tokens.
WORD_PIECES = ("\u2581", "he", "ll", "hell", "hello", "\u2581hello")
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2

# The large model's data is generated and written this many bytes at a time,
# so memory stays constant whatever size is asked for.
CHUNK_BYTES = 8 << 20
ALIGNMENT = 32  # GGUF default `general.alignment`


# --- vocabulary -----------------------------------------------------------------


def vocabulary() -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and token types of a minimal `llama` (SPM) vocabulary.

    The 256 byte tokens are required: SPM byte fallback throws on any character
    the vocabulary lacks. llama.cpp also asserts tokens are unique.
    """
    tokens = ["<unk>", "<s>", "</s>"]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [gguf.TokenType.BYTE] * 256
    tokens += list(WORD_PIECES)
    types += [gguf.TokenType.NORMAL] * len(WORD_PIECES)
    # SPM merges by score: give longer word pieces a higher (less negative) score.
    scores = [0.0] * (3 + 256) + [-float(10 - len(p)) for p in WORD_PIECES]
    return tokens, scores, [int(t) for t in types]


def add_vocabulary(writer: gguf.GGUFWriter) -> int:
    tokens, scores, types = vocabulary()
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(UNK_ID)
    writer.add_bos_token_id(BOS_ID)
    writer.add_eos_token_id(EOS_ID)
    return len(tokens)


# --- weights --------------------------------------------------------------------


def add_hyper_parameters(
    writer: gguf.GGUFWriter, hp: Hyper, file_type: int = gguf.LlamaFileType.ALL_F32
) -> None:
    writer.add_context_length(hp.context)
    writer.add_embedding_length(hp.embedding)
    writer.add_block_count(hp.blocks)
    writer.add_feed_forward_length(hp.feed_forward)
    writer.add_head_count(hp.heads)
    writer.add_head_count_kv(hp.kv_heads)
    # llama-model.cpp refuses a llama without the rms epsilon.
    writer.add_layer_norm_rms_eps(hp.rms_eps)
    writer.add_rope_dimension_count(hp.head_dim)
    writer.add_file_type(file_type)


def random_matrix(rng: np.random.Generator, rows: int, cols: int) -> F32Array:
    # Small weights keep activations finite through the random network.
    matrix = rng.standard_normal((rows, cols), dtype=np.float32)
    matrix *= np.float32(0.02)
    return matrix


def llama_tensors(
    rng: np.random.Generator, hp: Hyper, vocab: int
) -> Iterator[tuple[str, F32Array]]:
    """Name and data of every tensor, in a fixed order.

    numpy shapes are (rows, cols); gguf reverses them into ggml's ne order, so
    (vocab, embd) becomes the {n_embd, n_vocab} that llama.cpp expects.
    """
    kv_dim = hp.head_dim * hp.kv_heads
    ones = np.ones(hp.embedding, dtype=np.float32)
    yield "token_embd.weight", random_matrix(rng, vocab, hp.embedding)
    for i in range(hp.blocks):
        yield f"blk.{i}.attn_norm.weight", ones
        yield f"blk.{i}.attn_q.weight", random_matrix(rng, hp.embedding, hp.embedding)
        yield f"blk.{i}.attn_k.weight", random_matrix(rng, kv_dim, hp.embedding)
        yield f"blk.{i}.attn_v.weight", random_matrix(rng, kv_dim, hp.embedding)
        yield f"blk.{i}.attn_output.weight", random_matrix(rng, hp.embedding, hp.embedding)
        yield f"blk.{i}.ffn_norm.weight", ones
        yield f"blk.{i}.ffn_gate.weight", random_matrix(rng, hp.feed_forward, hp.embedding)
        yield f"blk.{i}.ffn_up.weight", random_matrix(rng, hp.feed_forward, hp.embedding)
        yield f"blk.{i}.ffn_down.weight", random_matrix(rng, hp.embedding, hp.feed_forward)
    yield "output_norm.weight", ones
    yield "output.weight", random_matrix(rng, vocab, hp.embedding)


def write_tiny_llama(
    path: Path, *, seed: int, name: str, pooling: int | None, f16: bool = False
) -> None:
    writer = gguf.GGUFWriter(path, arch=ARCH)
    writer.add_name(name)
    file_type = gguf.LlamaFileType.MOSTLY_F16 if f16 else gguf.LlamaFileType.ALL_F32
    add_hyper_parameters(writer, TINY, file_type)
    if pooling is not None:
        # Ollama's capability check looks only for the presence of this key.
        writer.add_pooling_type(gguf.PoolingType(pooling))
    vocab = add_vocabulary(writer)
    for tensor_name, data in llama_tensors(np.random.default_rng(seed), TINY, vocab):
        # As llama.cpp's converter does: matrices F16, norm vectors F32.
        writer.add_tensor(tensor_name, data.astype(np.float16) if f16 and data.ndim == 2 else data)
    write_all(writer)


def write_all(writer: gguf.GGUFWriter) -> None:
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()


def write_completion_model(path: Path, *, seed: int = 0) -> None:
    """A tiny llama that Ollama lists as "completion" and can generate with."""
    write_tiny_llama(path, seed=seed, name="tiny", pooling=None)


def write_embedding_model(path: Path, *, seed: int = 0) -> None:
    """The tiny llama with mean pooling: Ollama lists it as "embedding" (64-dim)."""
    write_tiny_llama(path, seed=seed, name="tiny-embed", pooling=int(gguf.PoolingType.MEAN))


def write_f16_model(path: Path, *, seed: int = 0) -> None:
    """The tiny llama with F16 matrices (file type MOSTLY_F16): what `quantize` accepts."""
    write_tiny_llama(path, seed=seed, name="tiny-f16", pooling=None, f16=True)


# --- LoRA adapter ---------------------------------------------------------------

LORA_RANK = 4
LORA_TARGETS = ("attn_q", "attn_v")


def write_lora_adapter(path: Path, *, seed: int = 0, rank: int = LORA_RANK) -> None:
    """A LoRA adapter for the tiny llama, as llama.cpp's `llama_adapter_lora_init` loads it.

    Ollama v0.11.4 stores a GGUF whose `general.type` is "adapter" as an adapter
    layer; llama.cpp then wants `adapter.type` = lora, the base's architecture,
    and for each target tensor W (ne [n_in, n_out]) a pair `W.lora_a` (ne
    [n_in, rank]) and `W.lora_b` (ne [rank, n_out]).
    """
    hp, rng = TINY, np.random.default_rng(10_000 + seed)
    writer = gguf.GGUFWriter(path, arch=ARCH)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(2 * rank))
    outputs = {"attn_q": hp.embedding, "attn_v": hp.head_dim * hp.kv_heads}
    for i in range(hp.blocks):
        for target in LORA_TARGETS:
            # numpy shapes are reversed into ggml's ne order by gguf.
            writer.add_tensor(
                f"blk.{i}.{target}.weight.lora_a", random_matrix(rng, rank, hp.embedding)
            )
            writer.add_tensor(
                f"blk.{i}.{target}.weight.lora_b", random_matrix(rng, outputs[target], rank)
            )
    write_all(writer)


# --- large model ----------------------------------------------------------------


def write_large_prefix(path: Path, elements: int) -> int:
    """Write header, metadata and tensor info of the large model; return its length.

    `ollama create` only decodes this part (it seeks over tensor data), so an
    architecture, a name and the tensor info would suffice. The vocabulary is
    there anyway (a few KB): without `tokenizer.ggml.tokens`, a load attempt
    panics Ollama v0.11.4's scheduler (`GraphSize` type assertion) and kills
    the whole server; with it, the load fails cleanly in the runner instead.
    """
    writer = gguf.GGUFWriter(path, arch=ARCH)
    writer.add_name("large")
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    add_vocabulary(writer)
    writer.add_tensor_info("blob.weight", (elements,), np.dtype(np.float32), elements * 4)
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
    finally:
        writer.close()
    return path.stat().st_size


def padded(n: int) -> int:
    return -(-n // ALIGNMENT) * ALIGNMENT


def large_chunks(seed: int, elements: int) -> Iterator[F32Array]:
    rng = np.random.default_rng(seed)
    per_chunk = CHUNK_BYTES // 4
    for start in range(0, elements, per_chunk):
        yield rng.standard_normal(min(per_chunk, elements - start), dtype=np.float32)


def write_large_model(path: Path, size_bytes: int, *, seed: int = 0) -> None:
    """A valid GGUF of about size_bytes: one F32 tensor, written in constant memory.

    Within 3 bytes of size_bytes, unless that is smaller than the header.
    """
    # The prefix length does not depend on the element count (shape entries are
    # fixed-width u64), so measure it once with a placeholder, then rewrite it.
    data_offset = padded(write_large_prefix(path, 1))
    elements = max(1, (size_bytes - data_offset) // 4)
    prefix = write_large_prefix(path, elements)
    with path.open("ab") as out:
        out.write(bytes(data_offset - prefix))  # tensor data starts aligned
        for chunk in large_chunks(seed, elements):
            chunk.astype("<f4", copy=False).tofile(out)


# --- command line ---------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write tiny.gguf and tiny-embed.gguf.")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    outdir: Path = args.outdir
    outdir.mkdir(parents=True, exist_ok=True)
    for name, write in (
        ("tiny.gguf", write_completion_model),
        ("tiny-embed.gguf", write_embedding_model),
    ):
        path = outdir / name
        write(path, seed=args.seed)
        print(f"{path}  {path.stat().st_size} bytes  sha256:{sha256_of(path)}")


if __name__ == "__main__":
    main()
