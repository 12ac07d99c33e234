"""Shopify Admin GraphQL constants: the pinned API version, page sizes sized to the query-cost
limit, the default start date, throttling and bulk-operation timings."""

from __future__ import annotations

SOURCE = "shopify"

# Pinned on every call (the version is part of the endpoint path). Shopify supports a version for
# at least 12 months and silently falls forward from a retired one; bump it deliberately.
API_VERSION = "2026-07"
GRAPHQL_PATH = "/admin/api/{version}/graphql.json"

# Everything since this moment (orders older than 60 days need the read_all_orders scope).
DEFAULT_START_DATE = "2010-01-01T00:00:00Z"

# A single query may cost at most 1000 points (requested cost: every connection is charged for its
# full `first`). The page sizes below keep each query under it; tests assert they do.
MAX_QUERY_COST = 1000
# Nested connections (line items of an order or checkout, refund line items of a refund): this
# many are asked with their parent; the rest come page by page through node(id:).
NESTED_PAGE_SIZE = 5
ORDER_BASE_COST = 26  # one order with its lists and an empty lineItems connection
ORDER_LINE_COST = 11  # each line item asked for
CHECKOUT_BASE_COST = 12
CHECKOUT_LINE_COST = 7
REFUND_BASE_COST = 3  # one refund in nodes(ids:) with its refundLineItems connection
REFUND_LINE_COST = 6
MAX_IDS_PER_QUERY = 100
CUSTOMERS_PAGE_SIZE = 240
PRODUCTS_PAGE_SIZE = 250
VARIANTS_PAGE_SIZE = 240
LOCATIONS_PAGE_SIZE = 250
LEVELS_PAGE_SIZE = 250

INVENTORY_QUANTITY_NAMES = (
    "available",
    "committed",
    "damaged",
    "incoming",
    "on_hand",
    "quality_control",
    "reserved",
    "safety_stock",
)

# Incremental: each run re-asks for OVERLAP_SECONDS before the last cursor (Shopify's search index
# trails writes by a few seconds); rows already loaded with the same updatedAt are skipped.
OVERLAP_SECONDS = 300

# Throttling (leaky bucket of cost points): pace before a query the bucket cannot cover; a THROTTLED
# answer (HTTP 200) waits for the bucket and retries, at most this many times in a row.
MAX_THROTTLED_RETRIES = 12
MAX_THROTTLE_WAIT_SECONDS = 60.0

# Bulk operations (first load): one request polls all running ones every POLL seconds, growing to
# POLL_MAX (a result is read within a second of completing); give up after BULK_TIMEOUT_SECONDS;
# roots are yielded in chunks of BULK_CHUNK_SIZE.
BULK_POLL_SECONDS = 0.1
BULK_POLL_MAX_SECONDS = 1.0
BULK_TIMEOUT_SECONDS = 4 * 3600.0
BULK_CHUNK_SIZE = 1000
