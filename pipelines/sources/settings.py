"""Parsing of settings that several sources share."""

from __future__ import annotations

from datetime import UTC, datetime

from pipelines.errors import SourceError, setting_name


def start_instant(source: str, value: str, text_format: str) -> str:
    """The ``start_date`` setting (ISO 8601; no offset means UTC) in the cursor's own format."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        variable = setting_name(source, "start_date")
        raise SourceError(
            source, f"{variable} must be an ISO 8601 date or date-time, got {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(text_format)
