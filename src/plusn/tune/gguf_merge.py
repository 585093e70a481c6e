"""A GGUF LoRA adapter merged into a copy of its base model: one file that decodes at the base's speed.

llama.cpp applies an unmerged adapter at run time as two more small products per adapted
weight. On a model as small as SmolLM2-135M that is about as many graph nodes again, and
decoding ran at 0.66 of the base's speed (`bench/adapter_speed.py`, docs/vertical.md). Merged,
each adapted weight becomes ``W + (alpha / rank) * scale * B @ A``, written in the base's type
or, when that is coarser than 8 bits, in Q8_0 (``merged_type``): the copy has the base's graph
and no extra products. Quantisation touches the delta too; measure the merged model on the task
(the arena) before serving it in place of the adapter.

The adapter's tensors are already in llama.cpp's layout (``blk.N.attn_q.weight.lora_a`` is
rank x in, ``lora_b`` out x rank, q and k rows interleaved per head), as written by
``gguf_export``; the merge needs no knowledge of the architecture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, MissingDependency


def _gguf() -> Any:
    try:
        import gguf
    except ImportError as exc:  # the core install has no gguf writer
        raise MissingDependency("merging an adapter needs the gguf package: pip install 'plusn[local]'") from exc
    return gguf


def _pairs(adapter: Any, path: Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float]:
    """Base tensor name -> (A, B) as float32, and alpha."""
    field = adapter.fields.get("adapter.lora.alpha")
    if field is None:
        raise ConfigError(f"{path}: not a GGUF LoRA adapter (no adapter.lora.alpha)")
    parts: dict[str, dict[str, np.ndarray]] = {}
    for t in adapter.tensors:
        base, _, ab = t.name.rpartition(".lora_")
        if ab not in ("a", "b"):
            continue
        parts.setdefault(base, {})[ab] = np.asarray(t.data, dtype=np.float32)
    missing = [name for name, p in parts.items() if len(p) != 2]
    if missing:
        raise ConfigError(f"{path}: adapter tensors without their pair: {', '.join(sorted(missing)[:5])}")
    return {name: (p["a"], p["b"]) for name, p in parts.items()}, float(field.contents())


# Types a merged weight is written in as it was; a coarser one becomes Q8_0 (see merged_type).
_KEEP = ("F32", "F16", "BF16", "Q8_0")


def merged_type(gguf: Any, base_type: Any, wanted: str) -> Any:
    """The type to write a merged weight in. ``auto``: the base's own if it is 8 bits or more,
    else Q8_0. A LoRA delta is small beside a weight, and 4-bit steps are coarse: merged into
    SmolLM2's Q4_1 weights and quantised back, the example's adapter fell from 0.76 to 0.19
    exact match; in Q8_0 it kept its score, and decoded 1.1x faster than the Q4_1 base."""
    if wanted != "auto":
        return gguf.GGMLQuantizationType[wanted]
    return base_type if base_type.name in _KEEP else gguf.GGMLQuantizationType.Q8_0


def merge(adapter_path: Path, base_path: Path, out: Path, *, scale: float = 1.0,
          kind: str = "auto") -> tuple[Path, int]:
    """Write ``out``: the base GGUF with the adapter merged into its weights; how many were."""
    gguf = _gguf()
    if kind != "auto" and kind not in gguf.GGMLQuantizationType.__members__:
        raise ConfigError(f"unknown GGUF type {kind!r} for --type; for example {', '.join(_KEEP)}")
    adapter = gguf.GGUFReader(str(adapter_path))
    pairs, alpha = _pairs(adapter, adapter_path)
    base = gguf.GGUFReader(str(base_path))
    arch = base.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(str(out), arch)
    for field in base.fields.values():  # every key as it was; the writer adds the architecture and GGUF.*
        if field.name == "general.architecture" or field.name.startswith("GGUF."):
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub)
    data: list[np.ndarray] = []
    merged = 0
    for t in base.tensors:
        arr = t.data
        pair = pairs.pop(t.name, None)
        if pair is not None:
            a, b = pair
            weight = gguf.quants.dequantize(arr, t.tensor_type).astype(np.float32)
            if weight.shape != (b.shape[0], a.shape[1]):
                raise ConfigError(f"{adapter_path}: {t.name} is {weight.shape} in the base, "
                                  f"{(b.shape[0], a.shape[1])} in the adapter: not this base's adapter")
            weight += (scale * alpha / a.shape[0]) * (b @ a)
            qtype = merged_type(gguf, t.tensor_type, kind)
            arr = weight if qtype == gguf.GGMLQuantizationType.F32 else gguf.quants.quantize(weight, qtype)
            merged += 1
        else:
            qtype = t.tensor_type
        writer.add_tensor_info(t.name, arr.shape, arr.dtype, arr.nbytes, qtype)
        data.append(arr)
    if pairs:
        raise ConfigError(f"{adapter_path}: adapts {', '.join(sorted(pairs)[:5])}, which {base_path} does not have")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for arr in data:
        writer.write_tensor_data(arr)
    writer.close()
    return out, merged
