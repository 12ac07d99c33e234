"""Column hints: fields that may be null for a whole load are declared, so the raw tables have the
columns staging selects from the first load on (dlt creates a column only when it sees a value).
Everything else is inferred (ISO timestamps as timestamps, Decimals as decimals).
"""

from __future__ import annotations

from typing import Any

TEXT = "text"
TIMESTAMP = "timestamp"
DECIMAL = "decimal"
BIGINT = "bigint"
BOOL = "bool"
JSON = "json"

_ADDRESS = {
    f"{field}": TEXT
    for field in (
        "address1",
        "address2",
        "city",
        "company",
        "country_code_v2",
        "first_name",
        "last_name",
        "name",
        "phone",
        "province_code",
        "zip",
    )
}


def _address(prefix: str) -> dict[str, str]:
    return {f"{prefix}__{name}": kind for name, kind in _ADDRESS.items()}


ORDERS = {
    "email": TEXT,
    "phone": TEXT,
    "cancelled_at": TIMESTAMP,
    "cancel_reason": TEXT,
    "display_financial_status": TEXT,
    "source_name": TEXT,
    "note": TEXT,
    "customer__id": TEXT,
    "subtotal_price": DECIMAL,
    "total_discounts": DECIMAL,
    "total_tax": DECIMAL,
    "tags": JSON,
    "discount_codes": JSON,
    **_address("shipping_address"),
    **_address("billing_address"),
}
ORDER_LINES = {
    "sku": TEXT,
    "variant_title": TEXT,
    "vendor": TEXT,
    "variant__id": TEXT,
    "product__id": TEXT,
}
ORDER_DISCOUNT_ALLOCATIONS = {
    "allocated_amount": DECIMAL,
    "discount_application__index": BIGINT,
    "discount_application__code": TEXT,
    "discount_application__title": TEXT,
}
ORDER_REFUNDS = {"created_at": TIMESTAMP, "note": TEXT, "total_refunded": DECIMAL}
REFUND_LINES = {"id": TEXT, "line_item__id": TEXT, "location__id": TEXT}
FULFILLMENTS = {"location__id": TEXT}
TRACKING = {"company": TEXT, "number": TEXT, "url": TEXT}

CUSTOMERS = {
    "first_name": TEXT,
    "last_name": TEXT,
    "email": TEXT,
    "phone": TEXT,
    "note": TEXT,
    "tags": JSON,
    "email_marketing_consent__marketing_state": TEXT,
    "email_marketing_consent__marketing_opt_in_level": TEXT,
    "email_marketing_consent__consent_updated_at": TIMESTAMP,
    **_address("default_address"),
}

CHECKOUTS = {
    "completed_at": TIMESTAMP,
    "note": TEXT,
    "discount_codes": JSON,
    "customer__id": TEXT,
    **_address("billing_address"),
    **_address("shipping_address"),
}
CHECKOUT_LINES = {
    "title": TEXT,
    "sku": TEXT,
    "variant_title": TEXT,
    "variant__id": TEXT,
    "product__id": TEXT,
}

PRODUCTS = {"published_at": TIMESTAMP, "tags": JSON, "product_type": TEXT, "vendor": TEXT}
VARIANTS = {
    "sku": TEXT,
    "barcode": TEXT,
    "compare_at_price": DECIMAL,
    "inventory_item__sku": TEXT,
    "inventory_item__unit_cost": DECIMAL,
}
LOCATIONS = {
    f"address__{name}": TEXT
    for name in ("address1", "city", "country_code", "province_code", "zip")
}
INVENTORY_LEVELS = {"item__sku": TEXT, "is_deleted": BOOL}


def hints(columns: dict[str, str], **extra: dict[str, Any]) -> dict[str, Any]:
    """dlt column hints: fresh dicts (dlt writes into them), ``extra`` merged into named columns."""
    out: dict[str, Any] = {
        name: {"name": name, "data_type": kind} for name, kind in columns.items()
    }
    for name, more in extra.items():
        out[name] = {**out.get(name, {"name": name}), **more}
    return out
