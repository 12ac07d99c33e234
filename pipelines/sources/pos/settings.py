"""Constants of the POS source: the till export's columns, file names and landed types."""

from __future__ import annotations

from dlt.common.schema.typing import TTableSchemaColumns

DEFAULT_FILE_GLOB = "pos_*.csv"
FILES_PER_PAGE = 100  # files listed per page handed to the parser

# The till's export columns (see pipelines/sandbox/pos_export.py). Header names are matched in
# any order after lower-casing, with other characters than a-z and 0-9 turned into "_"
# ("Transaction ID" is transaction_id); columns not listed here are carried as text.
REQUIRED_COLUMNS = (
    "transaction_id",
    "timestamp",
    "location",
    "line_no",
    "sku",
    "quantity",
    "gross",
    "discount",
    "net",
)
# optional: customer_email, customer_phone (blank when the customer gave none)

# Values that must be present on every line; `location` may be blank (the file name carries it).
REQUIRED_VALUES = ("transaction_id", "timestamp", "line_no", "sku", "quantity", "gross", "net")

MONEY_COLUMNS = ("gross", "discount", "net")
MONEY_PRECISION = 18  # DECIMAL(18, 2): exact cents, stored as a 64-bit integer by DuckDB
MONEY_SCALE = 2

MAX_RAW_LINE_CHARS = 4000  # a reject keeps at most this much of the offending line

SALES_LINE_COLUMNS: TTableSchemaColumns = {
    "transaction_id": {"data_type": "text", "nullable": False},
    "line_no": {"data_type": "bigint", "nullable": False},
    "timestamp": {"data_type": "timestamp", "timezone": True},
    "location": {"data_type": "text"},
    "sku": {"data_type": "text"},
    "quantity": {"data_type": "bigint"},
    **{
        name: {"data_type": "decimal", "precision": MONEY_PRECISION, "scale": MONEY_SCALE}
        for name in MONEY_COLUMNS
    },
    "customer_email": {"data_type": "text"},
    "customer_phone": {"data_type": "text"},
    "_source_file": {"data_type": "text", "nullable": False, "merge_key": True},
    "_source_line": {"data_type": "bigint"},
    # a line found in two files: the most recently modified file wins
    "_source_modified_at": {"data_type": "timestamp", "timezone": True, "dedup_sort": "desc"},
}

REJECT_COLUMNS: TTableSchemaColumns = {
    "_source_file": {"data_type": "text", "nullable": False},
    "_source_line": {"data_type": "bigint"},
    "_source_modified_at": {"data_type": "timestamp", "timezone": True},
    "raw_line": {"data_type": "text"},
    "reason": {"data_type": "text", "nullable": False},
}
