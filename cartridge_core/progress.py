"""How long operations report progress and learn that the user cancelled them."""

from __future__ import annotations

from typing import Protocol

from cartridge_core.errors import Cancelled


class Progress(Protocol):
    """Receives progress messages; says whether the user asked to stop."""

    def report(self, message: str, percentage: int | None = None) -> None: ...

    def cancelled(self) -> bool: ...


class NullProgress:
    """Progress that goes nowhere and is never cancelled."""

    def report(self, message: str, percentage: int | None = None) -> None:
        return None

    def cancelled(self) -> bool:
        return False


def check_cancelled(progress: Progress) -> None:
    """Raise `Cancelled` if the user asked to stop."""
    if progress.cancelled():
        raise Cancelled("Cancelled by the user.")
