"""Constants of the EasyPost source (trackers)."""

from __future__ import annotations

from typing import Literal

from dlt.common.schema.typing import TTableSchemaColumns

API_VERSION = "v2"  # pinned: part of every request path
TRACKERS_PATH = f"/{API_VERSION}/trackers"

DEFAULT_BASE_URL = "https://api.easypost.com"
DEFAULT_START_DATE = "2015-01-01T00:00:00Z"  # first start_datetime (created_at) of a full load

PAGE_SIZE = 100  # the largest page_size EasyPost allows

# A tracker in one of these states never changes again; the others are re-read every run.
FINAL_STATUSES = frozenset({"delivered", "return_to_sender", "failure", "cancelled"})

# An open tracker that has not changed for this long (carriers stop scanning lost parcels) is no
# longer re-read, so the open set cannot grow without bound.
STALE_AFTER_DAYS = 60

READ_WORKERS = 4  # concurrent GET /v2/trackers/{id} while re-reading open trackers

# Load files as Parquet: DuckDB loads them ~10x faster than the default INSERT statements.
LOADER_FILE_FORMAT: Literal["parquet"] = "parquet"

# Types for the columns staging relies on, so they exist even when a load carries no value.
TRACKER_COLUMNS: TTableSchemaColumns = {
    "created_at": {"data_type": "timestamp"},
    "updated_at": {"data_type": "timestamp"},
    "est_delivery_date": {"data_type": "timestamp"},
    "shipment_id": {"data_type": "text"},
    "signed_by": {"data_type": "text"},
    "tracking_code": {"data_type": "text"},
    "fees": {"data_type": "json"},  # billing lines: a JSON column, not a child table
    # documented carrier details many carriers leave null: typed so they land (no warning)
    "carrier_detail__service": {"data_type": "text"},
    "carrier_detail__container_type": {"data_type": "text"},
    "carrier_detail__alternate_identifier": {"data_type": "text"},
    "carrier_detail__origin_location": {"data_type": "text"},
    "carrier_detail__destination_location": {"data_type": "text"},
    "carrier_detail__origin_tracking_location": {"data_type": "json"},
    "carrier_detail__destination_tracking_location": {"data_type": "json"},
    "carrier_detail__est_delivery_date_local": {"data_type": "text"},
    "carrier_detail__est_delivery_time_local": {"data_type": "text"},
    "carrier_detail__guaranteed_delivery_date": {"data_type": "timestamp"},
    "carrier_detail__initial_delivery_attempt": {"data_type": "timestamp"},
}
DETAIL_COLUMNS: TTableSchemaColumns = {
    "tracker_id": {"data_type": "text"},
    "position": {"data_type": "bigint"},
    "datetime": {"data_type": "timestamp"},
    "status": {"data_type": "text"},
    "message": {"data_type": "text"},
    "tracking_location__city": {"data_type": "text"},
    "tracking_location__state": {"data_type": "text"},
    "tracking_location__zip": {"data_type": "text"},
    "tracking_location__country": {"data_type": "text"},
    "description": {"data_type": "text"},
    "carrier_code": {"data_type": "text"},
}
