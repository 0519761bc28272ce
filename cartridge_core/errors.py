"""One family of errors, each carrying a one-line message for the user."""

from __future__ import annotations


class CartridgeError(Exception):
    """An error the user can act on: a one-line message, and where known a file and line.

    `exit_code` is what the headless CLI exits with when this error stops a run.
    """

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        # Keep the message on one line whatever the cause said: users read it in a status bar.
        self.message = " ".join(message.split())
        self.file = file
        self.line = line
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class ConfigError(CartridgeError):
    """A dbt project or profile that cannot be used (missing file, bad YAML, missing key, unset env var)."""


class WarehouseError(CartridgeError):
    """The warehouse cannot be reached or read (refused connection, wrong password, unknown database)."""


class DbtError(CartridgeError):
    """dbt itself could not run (not installed, project does not parse)."""


class Cancelled(CartridgeError):
    """The user cancelled a long-running operation."""

    exit_code = 130
