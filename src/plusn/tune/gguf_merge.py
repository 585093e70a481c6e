"""A GGUF LoRA adapter merged into a copy of its base model: one file that decodes at the base's speed.

llama.cpp applies an unmerged adapter at run time as two more small products per adapted
weight. On a model as small as SmolLM2-135M that is about as many graph nodes again, and
decoding ran at 0.75 to 0.78 of the base's speed (`bench/adapter_speed.py`, docs/vertical.md). Merged,
each adapted weight becomes ``W + (alpha / rank) * scale * B @ A``, written in the base's type
or, when that is coarser than 8 bits, in Q8_0 (``merged_type``): the copy has the base's graph
and no extra products. Quantisation touches the delta too; measure the merged model on the task
(the arena) before serving it in place of the adapter.

The adapter's tensors are already in llama.cpp's layout (``blk.N.attn_q.weight.lora_a`` is
rank x in, ``lora_b`` out x rank, q and k rows interleaved per head), as written by
``gguf_export``; the merge needs no knowledge of the architecture.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, MissingDependency

# What a merged weight can be written in (what the gguf package can quantise); ``auto`` keeps the
# base's own type when it is one of _KEEP, else writes Q8_0 (see merged_type).
TYPES = ("F32", "F16", "BF16", "Q8_0", "Q5_1", "Q5_0", "Q4_1", "Q4_0")
_KEEP = ("F32", "F16", "BF16", "Q8_0")


def _gguf() -> Any:
    try:
        import gguf
    except ImportError as exc:  # the core install has no gguf writer
        raise MissingDependency("merging an adapter needs the gguf package: pip install 'plusn[local]'") from exc
    return gguf


def _read(gguf: Any, path: Path) -> Any:
    try:
        return gguf.GGUFReader(str(path))
    except (ValueError, OSError) as exc:
        raise ConfigError(f"{path}: not a GGUF file ({exc})") from None


def _pairs(gguf: Any, adapter: Any, path: Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float]:
    """Base tensor name -> (A, B) as float32, and alpha (0 when the adapter gives none, as
    llama.cpp reads it)."""
    parts: dict[str, dict[str, np.ndarray]] = {}
    for t in adapter.tensors:
        base, _, ab = t.name.rpartition(".lora_")
        if ab in ("a", "b"):  # F32 as plusn writes them; F16, BF16 or Q8_0 from other converters
            parts.setdefault(base, {})[ab] = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
    if not parts:
        raise ConfigError(f"{path}: not a GGUF LoRA adapter (no .lora_a / .lora_b tensors)")
    missing = [name for name, p in parts.items() if len(p) != 2]
    if missing:
        raise ConfigError(f"{path}: adapter tensors without their pair: {', '.join(sorted(missing)[:5])}")
    field = adapter.fields.get("adapter.lora.alpha")
    return {name: (p["a"], p["b"]) for name, p in parts.items()}, float(field.contents()) if field else 0.0


def merged_type(gguf: Any, base_type: Any, wanted: str) -> Any:
    """The type to write a merged weight in. ``auto``: the base's own if it is 8 bits or more,
    else Q8_0. A LoRA delta is small beside a weight, and 4-bit steps are coarse: merged into
    SmolLM2's Q4_1 weights and quantised back, the example's adapter fell from 0.76 to 0.19
    exact match; in Q8_0 it kept its score, and decoded 1.1x faster than the Q4_1 base."""
    if wanted != "auto":
        return gguf.GGMLQuantizationType[wanted]
    return base_type if base_type.name in _KEEP else gguf.GGMLQuantizationType.Q8_0


def _copy_fields(gguf: Any, base: Any, writer: Any) -> None:
    """Every key as it was. The writer adds the architecture and GGUF.* itself, and pads tensors
    to its own alignment unless told the base's."""
    for field in base.fields.values():
        if field.name == "general.architecture" or field.name.startswith("GGUF."):
            continue
        if field.name == "general.alignment":
            writer.add_custom_alignment(int(field.contents()))
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub)


def _merged(gguf: Any, t: Any, pair: tuple[np.ndarray, np.ndarray], factor: float, kind: str,
            adapter_path: Path) -> tuple[np.ndarray, Any]:
    """One base tensor with its adapter pair folded in, quantised: (data, type)."""
    a, b = pair
    weight = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
    if weight.shape != (b.shape[0], a.shape[1]):
        raise ConfigError(f"{adapter_path}: {t.name} is {weight.shape} in the base, "
                          f"{(b.shape[0], a.shape[1])} in the adapter: not this base's adapter")
    weight += factor * (b @ a)
    qtype = merged_type(gguf, t.tensor_type, kind)
    if qtype == gguf.GGMLQuantizationType.F32:
        return weight, qtype
    try:
        return gguf.quants.quantize(weight, qtype), qtype
    except Exception as exc:  # e.g. rows that are not a whole number of the type's blocks
        raise ConfigError(f"{t.name} cannot be written as {qtype.name}: {exc}", key="type") from None


def merge(adapter_path: Path, base_path: Path, out: Path, *, scale: float = 1.0,
          kind: str = "auto") -> tuple[Path, int]:
    """Write ``out``: the base GGUF with the adapter merged into its weights; how many were."""
    gguf = _gguf()
    if kind != "auto" and kind not in TYPES:
        raise ConfigError(f"GGUF type {kind!r} cannot be written here; one of auto, {', '.join(TYPES)}", key="type")
    if out.resolve() in (adapter_path.resolve(), base_path.resolve()):
        raise ConfigError(f"{out}: the merged model must go to a file of its own, not over its inputs")
    adapter = _read(gguf, adapter_path)
    pairs, alpha = _pairs(gguf, adapter, adapter_path)
    base = _read(gguf, base_path)
    partial = out.with_name(out.name + ".partial")  # a failure never leaves half a model at ``out``
    try:
        merged = _write(gguf, base, pairs, alpha, partial, scale=scale, kind=kind, adapter_path=adapter_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)
    return out, merged


def _write(gguf: Any, base: Any, pairs: dict[str, tuple[np.ndarray, np.ndarray]], alpha: float, path: Path, *,
           scale: float, kind: str, adapter_path: Path) -> int:
    writer = gguf.GGUFWriter(str(path), base.fields["general.architecture"].contents())
    _copy_fields(gguf, base, writer)
    data: list[np.ndarray] = []
    merged = 0
    for t in base.tensors:
        arr, qtype = t.data, t.tensor_type
        pair = pairs.pop(t.name, None)
        if pair is not None:
            rank = pair[0].shape[0]
            # as llama.cpp scales an adapter at run time: by alpha / rank, or not at all without alpha
            arr, qtype = _merged(gguf, t, pair, scale * alpha / rank if alpha else scale, kind, adapter_path)
            merged += 1
        writer.add_tensor_info(t.name, arr.shape, arr.dtype, arr.nbytes, qtype)
        data.append(arr)
    if pairs:
        writer.close()
        raise ConfigError(f"{adapter_path}: adapts {', '.join(sorted(pairs)[:5])}, which the base does not have")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for arr in data:
        writer.write_tensor_data(arr)
    writer.close()
    return merged
