"""A PEFT LoRA adapter (safetensors) as a GGUF adapter that llama.cpp loads beside its base.

llama.cpp stores a LoRA pair per adapted weight as ``<gguf tensor>.lora_a`` (rank × in) and
``.lora_b`` (out × rank), with ``adapter.lora.alpha`` in the metadata; it scales by alpha / rank
itself. Two things differ from the Hugging Face layout and are handled here:

- tensor names: ``model.layers.3.self_attn.q_proj`` is ``blk.3.attn_q``;
- rotary layout: llama.cpp's Llama weights have the query and key rows of each head
  interleaved rather than split in halves, so the base GGUF's q and k were permuted when it was
  made. The adapter's B matrix (whose rows are the weight's output rows) is permuted the same
  way; A (its columns are the input) is not.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, MissingDependency

# Hugging Face module name -> llama.cpp tensor name (Llama-family architectures)
NAMES = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_PEFT = re.compile(r"(?:base_model\.model\.)?model\.layers\.(\d+)\.(.+)\.lora_([AB])\.weight$")


def gguf_name(peft_name: str) -> tuple[str, str] | None:
    """``(blk.N.attn_q, "a"|"b")`` for a PEFT tensor name, or None for one llama.cpp has no name for."""
    m = _PEFT.match(peft_name)
    if m is None or m.group(2) not in NAMES:
        return None
    return f"blk.{m.group(1)}.{NAMES[m.group(2)]}", m.group(3).lower()


def interleave_heads(rows: np.ndarray, heads: int) -> np.ndarray:
    """Reorder each head's rows from halves (HF rotary) to pairs (llama.cpp rotary)."""
    out_dim = rows.shape[0]
    per = out_dim // heads
    return rows.reshape(heads, 2, per // 2, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


def convert(tensors: dict[str, np.ndarray], *, n_head: int, n_head_kv: int) -> dict[str, np.ndarray]:
    """GGUF tensor name -> float32 array, for every LoRA tensor llama.cpp can apply."""
    out: dict[str, np.ndarray] = {}
    for name, value in tensors.items():
        found = gguf_name(name)
        if found is None:
            raise ConfigError(f"adapter tensor {name!r} has no llama.cpp counterpart; train with target modules "
                              f"among {', '.join(k.split('.')[-1] for k in NAMES)}")
        base, ab = found
        arr = np.asarray(value, dtype=np.float32)
        if ab == "b" and base.endswith("attn_q"):
            arr = interleave_heads(arr, n_head)
        elif ab == "b" and base.endswith("attn_k"):
            arr = interleave_heads(arr, n_head_kv)
        out[f"{base}.weight.lora_{ab}"] = np.ascontiguousarray(arr)
    return out


def _base_info(base: Path) -> dict[str, Any]:
    import gguf

    reader = gguf.GGUFReader(str(base))

    def field(key: str) -> Any:
        f = reader.fields.get(key)
        if f is None:
            return None
        return f.contents()

    arch = field("general.architecture")
    return {"arch": arch, "n_head": field(f"{arch}.attention.head_count"),
            "n_head_kv": field(f"{arch}.attention.head_count_kv") or field(f"{arch}.attention.head_count")}


def export(adapter_dir: Path, base: Path, out: Path) -> Path:
    """Write ``out`` (GGUF LoRA) from a PEFT adapter folder trained on the GGUF ``base``."""
    try:
        import gguf
        from safetensors.numpy import load_file
    except ImportError as exc:
        raise MissingDependency("converting an adapter to GGUF needs the 'tune' extra: pip install 'plusn[tune]'") from exc
    config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    tensors = load_file(str(adapter_dir / "adapter_model.safetensors"))
    info = _base_info(base)
    if info["arch"] != "llama":
        raise ConfigError(f"{base}: architecture {info['arch']!r}; GGUF export knows Llama-family models only")
    converted = convert(tensors, n_head=int(info["n_head"]), n_head_kv=int(info["n_head_kv"]))
    partial = out.with_name(out.name + ".partial")  # an interrupted export never leaves half a file at ``out``
    writer = gguf.GGUFWriter(str(partial), info["arch"])
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(config.get("lora_alpha", config.get("r", 8))))
    writer.add_string("general.name", adapter_dir.name)
    for name, arr in sorted(converted.items()):
        writer.add_tensor(name, arr)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(partial, out)
    return out
