"""Backend types used by tests, registered through the real registry."""

from __future__ import annotations

import importlib.util

from plusn.errors import MissingDependency
from plusn.fleet.scripted import ScriptedBackend


class NeedsAbsentPackage(ScriptedBackend):
    """A backend whose optional dependency is genuinely not installed."""

    extra = "imaginary"

    @classmethod
    def check_dependencies(cls) -> None:
        if importlib.util.find_spec("plusn_test_absent_package") is None:
            raise MissingDependency("backend type 'needs-absent' needs plusn_test_absent_package: pip install 'plusn[imaginary]'")
