"""Klaviyo constants: base URL, the pinned API revision, page sizes, windows and column types."""

from __future__ import annotations

from typing import Final

from dlt.common.schema.typing import TTableSchemaColumns

SOURCE = "klaviyo"
DEFAULT_BASE_URL = "https://a.klaviyo.com"

# Klaviyo versions its API by dated revisions sent in the ``revision`` header on every call. Each
# is stable for a year, deprecated in the second and then retired (410). Override with
# SOURCES__KLAVIYO__REVISION when this one is retired.
REVISION = "2026-07-15"
ACCEPT = "application/vnd.api+json"

# First cursor value of a full load (events by datetime, the others by their updated time).
DEFAULT_START_DATE = "2012-01-01T00:00:00+00:00"

# The largest page[size] each endpoint takes (metrics take none: 200 a page).
PROFILES_PAGE_SIZE = 100
LIST_MEMBERS_PAGE_SIZE = 100
LISTS_PAGE_SIZE = 10
EVENTS_PAGE_SIZE = 1000
CAMPAIGNS_PAGE_SIZE = 100
FLOWS_PAGE_SIZE = 50
# A walk of more than one page of events is cut into this many time slices read concurrently
# (the API's latency per page dominates a backfill; events allow 350 requests/s).
EVENTS_STREAMS = 4
# Event pages are handed to dlt in Arrow tables of about this many rows (dlt's cost per table).
EVENTS_BATCH_ROWS = 20_000

# Events are read by their ``datetime``, which is when they happened, not when Klaviyo stored
# them: an event sent a little late lands behind the cursor. Every run re-reads this window before
# the newest datetime loaded; events already loaded there (ids kept in the resource state) are
# skipped, so nothing is loaded twice.
EVENTS_LOOKBACK_SECONDS = 3600

# Profiles filter ``updated`` with greater-than only, to the second: ask from one second before
# the cursor and let dlt drop what was loaded at the cursor itself.
PROFILES_OVERLAP_SECONDS = 1

# Pace when a window's RateLimit-Remaining drops to this (the RateLimit-Reset seconds are spread
# over what is left).
RATE_LIMIT_RESERVE = 2

# Parquet load files for the dict resources: DuckDB reads them in bulk.
LOADER_FILE_FORMAT: Final = "parquet"

# The hard-delete column of lists and list memberships: a row with it set is deleted.
DELETED = "deleted"

# The private API key's read scopes this source needs (documented in the README).
SCOPES = (
    "profiles:read",
    "lists:read",
    "metrics:read",
    "events:read",
    "campaigns:read",
    "flows:read",
)


def _text(*names: str) -> TTableSchemaColumns:
    return {name: {"data_type": "text", "nullable": True} for name in names}


def _timestamps(*names: str) -> TTableSchemaColumns:
    return {name: {"data_type": "timestamp", "nullable": True} for name in names}


# Columns staging reads, typed up front so they exist even when every value so far is null.
PROFILE_COLUMNS: TTableSchemaColumns = {
    **_text("email", "phone_number", "external_id", "first_name", "last_name", "organization"),
    **_text("locale", "title", "image"),
    **_text("location__address1", "location__address2", "location__city", "location__region"),
    **_text("location__zip", "location__country", "location__timezone", "location__ip"),
    "location__latitude": {"data_type": "double", "nullable": True},
    "location__longitude": {"data_type": "double", "nullable": True},
    **_text("email_marketing_consent"),
    "can_receive_email_marketing": {"data_type": "bool", "nullable": True},
    **_timestamps("created", "updated", "email_marketing_consent_timestamp"),
    "properties": {"data_type": "json", "nullable": True},
}
LIST_COLUMNS: TTableSchemaColumns = {
    **_text("name", "opt_in_process"),
    **_timestamps("created", "updated"),
    DELETED: {"data_type": "bool", "nullable": True, "hard_delete": True},
}
MEMBERSHIP_COLUMNS: TTableSchemaColumns = {
    "list_id": {"data_type": "text", "nullable": False},
    "profile_id": {"data_type": "text", "nullable": False},
    **_timestamps("joined_group_at"),
    DELETED: {"data_type": "bool", "nullable": True, "hard_delete": True},
}
METRIC_COLUMNS: TTableSchemaColumns = {
    **_text("name", "integration__id", "integration__key", "integration__name"),
    **_text("integration__category"),
    **_timestamps("created", "updated"),
}
CAMPAIGN_COLUMNS: TTableSchemaColumns = {
    **_text("name", "status", "message_id"),
    "archived": {"data_type": "bool", "nullable": True},
    # {"included": [list ids], "excluded": [...]}: one JSON value rather than two child tables
    "audiences": {"data_type": "json", "nullable": True},
    "tracking_options__custom_tracking_params": {"data_type": "json", "nullable": True},
    "send_strategy__options__send_past_recipients_immediately": {
        "data_type": "bool",
        "nullable": True,
    },
    **_timestamps("created_at", "scheduled_at", "updated_at", "send_time"),
}
FLOW_COLUMNS: TTableSchemaColumns = {
    **_text("name", "status", "trigger_type"),
    "archived": {"data_type": "bool", "nullable": True},
    **_timestamps("created", "updated"),
}
