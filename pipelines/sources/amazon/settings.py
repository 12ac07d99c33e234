"""Constants of the Amazon Selling Partner API source (Orders API v2026-01-01)."""

from __future__ import annotations

from typing import Literal

from dlt.common.schema.typing import TColumnSchema, TTableSchemaColumns

API_VERSION = "2026-01-01"  # Orders API version, pinned: it is part of every request path
ORDERS_PATH = f"/orders/{API_VERSION}/orders"

DEFAULT_BASE_URL = "https://sellingpartnerapi-na.amazon.com"  # -eu / -fe for other regions
DEFAULT_LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
DEFAULT_MARKETPLACE_IDS = "ATVPDKIKX0DER"  # amazon.com (US); comma-separated for several
DEFAULT_START_DATE = "2015-01-01T00:00:00Z"  # first LastUpdatedAfter of a full load

ORDERS_PAGE_SIZE = 100  # searchOrders' maxResultsPerPage maximum
# The datasets searchOrders returns inline besides the basic order and its items (orderItems are
# always included): the buyer's name and relay email, the ship-to address, the amounts, the status.
INCLUDED_DATA = "BUYER,RECIPIENT,PROCEEDS,FULFILLMENT"

# Refresh the LWA access token (valid 3600 s) this long before it expires.
TOKEN_REFRESH_MARGIN_SECONDS = 120.0

# Requests per second per operation when the response carries no x-amzn-RateLimit-Limit
# (orders_2026-01-01.json usage plans).
DEFAULT_RATES = {"searchOrders": 0.0056, "getOrder": 0.5}


def money() -> TColumnSchema:
    """Exact money: DECIMAL(18, 2) (a fresh hint each time: dlt fills in the column's name)."""
    return {"data_type": "decimal", "precision": 18, "scale": 2}


# Load files as Parquet: DuckDB loads them ~10x faster than the default INSERT statements.
LOADER_FILE_FORMAT: Literal["parquet"] = "parquet"

# Types for the columns staging relies on, so they exist (and money is exact) even when a load
# carries no value for them (buyer data needs the PII roles; Pending orders lack prices). Lists of
# strings stay JSON in their row; the items' proceeds breakdowns land as child tables (staging
# pivots them by type), the order's stay JSON.
ORDER_COLUMNS: TTableSchemaColumns = {
    "created_time": {"data_type": "timestamp"},
    "programs": {"data_type": "json"},
    "associated_orders": {"data_type": "json"},
    "proceeds__grand_total__amount": money(),
    "proceeds__grand_total__currency_code": {"data_type": "text"},
    "proceeds__breakdowns": {"data_type": "json"},  # the items' breakdowns add up to it
    "buyer__buyer_email": {"data_type": "text"},
    "buyer__buyer_name": {"data_type": "text"},
    "recipient__delivery_address__phone": {"data_type": "text"},
    "recipient__delivery_address__postal_code": {"data_type": "text"},
}
ORDER_ITEM_COLUMNS: TTableSchemaColumns = {
    "order_id": {"data_type": "text"},
    "programs": {"data_type": "json"},
    "product__price__unit_price__amount": money(),
    "proceeds__proceeds_total__amount": money(),
    "proceeds__proceeds_total__currency_code": {"data_type": "text"},
    "fulfillment__quantity_fulfilled": {"data_type": "bigint"},
    "fulfillment__quantity_unfulfilled": {"data_type": "bigint"},
    "fulfillment__packing__gift_option__gift_message": {"data_type": "text"},
    "fulfillment__packing__gift_option__gift_wrap_level": {"data_type": "text"},
}
