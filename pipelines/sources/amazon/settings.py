"""Constants of the Amazon Selling Partner API source (Orders API v0)."""

from __future__ import annotations

from typing import Literal

from dlt.common.schema.typing import TColumnSchema, TTableSchemaColumns

API_VERSION = "v0"  # Orders API version, pinned: it is part of every request path
ORDERS_PATH = f"/orders/{API_VERSION}/orders"

DEFAULT_BASE_URL = "https://sellingpartnerapi-na.amazon.com"  # -eu / -fe for other regions
DEFAULT_LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
DEFAULT_MARKETPLACE_IDS = "ATVPDKIKX0DER"  # amazon.com (US); comma-separated for several
DEFAULT_START_DATE = "2015-01-01T00:00:00Z"  # first LastUpdatedAfter of a full load

ORDERS_PAGE_SIZE = 100  # getOrders' MaxResultsPerPage maximum

# Concurrent getOrderItems calls. Amazon's usage plan (0.5/s, burst 30) still applies: the pacer
# spaces them once throttled; concurrency pays off while the burst lasts and against emulators.
ITEM_READ_WORKERS = 4

# Refresh the LWA access token (valid 3600 s) this long before it expires.
TOKEN_REFRESH_MARGIN_SECONDS = 120.0

# Requests per second per operation when the response carries no x-amzn-RateLimit-Limit
# (ordersV0.json usage plans).
DEFAULT_RATES = {"getOrders": 0.0167, "getOrder": 0.5, "getOrderItems": 0.5}


def money() -> TColumnSchema:
    """Exact money: DECIMAL(18, 2) (a fresh hint each time: dlt fills in the column's name)."""
    return {"data_type": "decimal", "precision": 18, "scale": 2}


# Load files as Parquet: DuckDB loads them ~10x faster than the default INSERT statements.
LOADER_FILE_FORMAT: Literal["parquet"] = "parquet"

# Types for the columns staging relies on, so they exist (and money is exact) even when a load
# carries no value for them (BuyerInfo needs a Restricted Data Token; Pending orders lack prices).
ORDER_COLUMNS: TTableSchemaColumns = {
    "purchase_date": {"data_type": "timestamp"},
    "order_total__amount": money(),
    "order_total__currency_code": {"data_type": "text"},
    "buyer_info__buyer_email": {"data_type": "text"},
    "buyer_info__buyer_name": {"data_type": "text"},
    "shipping_address__phone": {"data_type": "text"},
    "shipping_address__postal_code": {"data_type": "text"},
    "payment_method_details": {"data_type": "json"},  # a list of strings: no child table
}
ORDER_ITEM_COLUMNS: TTableSchemaColumns = {
    "amazon_order_id": {"data_type": "text"},
    "item_price__amount": money(),
    "item_tax__amount": money(),
    "promotion_discount__amount": money(),
    "promotion_discount_tax__amount": money(),
    "shipping_price__amount": money(),
    "shipping_tax__amount": money(),
    "item_price__currency_code": {"data_type": "text"},
}
