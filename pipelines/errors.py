"""Errors a user can fix: shown as one clear line, without a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix (a setting, an argument, a missing file): one clear sentence
    naming what to fix, never a secret."""


class SourceError(UserError):
    """A source failed in a way the user can act on (credentials, reachability, an outage)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


def setting_name(source: str, setting: str) -> str:
    """The environment variable dlt reads a source setting from (``SOURCES__SHOPIFY__BASE_URL``)."""
    return f"SOURCES__{source.upper()}__{setting.upper()}"


def credentials_rejected(source: str, setting: str, status: int) -> SourceError:
    """The error for credentials the vendor refused (names the setting, never its value)."""
    variable = setting_name(source, setting)
    return SourceError(
        source,
        f"the vendor rejected the credentials (HTTP {status}): check {variable} "
        f"(or [sources.{source}] {setting} in .dlt/secrets.toml)",
    )
