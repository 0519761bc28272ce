"""Diagnostics from dbt's check of generated models: published per file, cleared when fixed."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from cartridge_core.models import ModelCheck
from cartridge_lsp.convert import diagnostics_by_uri

if TYPE_CHECKING:
    from cartridge_lsp.server import CartridgeServer


class CheckDiagnostics:
    """The files that currently show a failed check, so a later pass can clear them."""

    def __init__(self) -> None:
        self._failing: set[str] = set()

    def publish(self, ls: CartridgeServer, root: Path, checks: Iterable[ModelCheck]) -> None:
        """Publish the failures of `checks`; clear files that failed before and pass now."""
        for uri, found in diagnostics_by_uri(root, checks).items():
            if not found and uri not in self._failing:
                continue  # passed before and passes now: nothing to say
            params = types.PublishDiagnosticsParams(uri=uri, diagnostics=found)
            ls.text_document_publish_diagnostics(params)
            if found:
                self._failing.add(uri)
            else:
                self._failing.discard(uri)
