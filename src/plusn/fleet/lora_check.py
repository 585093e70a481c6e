"""Does a GGUF LoRA adapter fit a GGUF base model? Checked before llama.cpp sees it.

llama.cpp (as bundled with llama-cpp-python 0.3) crashes the whole process, rather than
failing, when given an adapter made for another architecture or other tensor shapes. A
gateway must not go down over one bad config line, so the adapter's header is read here
first (the ``gguf`` package reads only headers and maps tensors lazily: milliseconds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import MissingDependency


def _reader(path: Path) -> Any:
    try:
        import gguf
    except ImportError as exc:
        raise MissingDependency("LoRA adapters need the gguf package: pip install 'plusn[local]'") from exc
    try:
        return gguf.GGUFReader(str(path))
    except Exception as exc:  # the reader raises ValueError, struct.error, ... on what is not GGUF
        raise ValueError(f"{path} is not a GGUF file ({exc})") from None


def _field(reader: Any, key: str) -> Any:
    f = reader.fields.get(key)
    return None if f is None else f.contents()


def misfit(adapter: Path, base: Path) -> str | None:
    """Why ``adapter`` cannot be applied to ``base``, or None when it can."""
    a, b = _reader(adapter), _reader(base)
    if _field(a, "general.type") != "adapter" or _field(a, "adapter.type") != "lora":
        return f"{adapter.name} is not a GGUF LoRA adapter (general.type {_field(a, 'general.type')!r})"
    arch_a, arch_b = _field(a, "general.architecture"), _field(b, "general.architecture")
    if arch_a != arch_b:
        return f"it was made for architecture {arch_a!r}, the base is {arch_b!r}"
    # GGUF lists dimensions innermost first: a weight is (in, out), lora_a (in, rank), lora_b (rank, out)
    weights = {t.name: [int(x) for x in t.shape] for t in b.tensors}
    pairs: dict[str, dict[str, list[int]]] = {}
    for t in a.tensors:
        name, _, part = t.name.rpartition(".lora_")
        if part not in ("a", "b"):
            return f"unexpected tensor {t.name!r} in the adapter"
        pairs.setdefault(name, {})[part] = [int(x) for x in t.shape]
    for name, ab in pairs.items():
        w = weights.get(name)
        if w is None:
            return f"the base has no tensor {name!r}"
        if set(ab) != {"a", "b"}:
            return f"{name} has only lora_{next(iter(ab))}"
        if ab["a"][0] != w[0] or ab["b"][1] != w[1] or ab["a"][1] != ab["b"][0]:
            return (f"{name}: the adapter's shapes {ab['a']} x {ab['b']} do not fit the base's {w} "
                    "(trained on another size of model?)")
    return None
