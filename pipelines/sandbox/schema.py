"""The simulated retailer's world: every table, its columns and their types (the one contract).

The generator writes these tables as Parquet under ``$CDP_DATA_DIR/sandbox/world/<table>.parquet``
(the world *as of* the sandbox clock); the emulators serve them in each vendor's wire format.

Conventions
- Money is integer cents (``*_cents``, Int64) so that sums are exact; emulators render it as the
  vendor's decimal strings. One currency, USD.
- Timestamps are UTC (``Datetime("us", "UTC")``); ``*_date`` columns are dates.
- ``person_id`` is the simulation's truth. Emulators never serve it; it is in the world tables so
  that tests can check invariants, and it is copied to ``truth/identity.parquet``.
- Identifier columns (emails, phones, names) hold the values *as the vendor holds them*, noise
  included (case, whitespace, gmail dots and +tags, phone formats, nicknames, typos, junk values).
- A ``*_at`` column that is null means the event has not happened (as of the clock).
"""

from __future__ import annotations

import polars as pl

TS = pl.Datetime("us", "UTC")
D = pl.Date()
I = pl.Int64()  # noqa: E741
S = pl.String()
B = pl.Boolean()

Schema = dict[str, pl.DataType]

WORLD: dict[str, Schema] = {
    # --- people (truth only: never served) -------------------------------------------------
    "people": {
        "person_id": I,
        "first_name": S,
        "last_name": S,
        "email": S,  # canonical address as the person would type it carefully
        "phone": S,  # canonical E.164, null for people without a phone
        "household_id": I,  # people of one household share a landline phone
        "city": S,
        "province_code": S,
        "zip": S,
        "country_code": S,
        "persona": S,  # shopper | wholesale | subscriber_only
        "joined_at": TS,  # first time the person appears anywhere
    },
    # --- catalogue and stock ----------------------------------------------------------------
    "products": {
        "product_id": I,
        "title": S,
        "product_type": S,
        "vendor": S,
        "status": S,  # ACTIVE | ARCHIVED
        "created_at": TS,
        "updated_at": TS,
    },
    "variants": {
        "variant_id": I,
        "product_id": I,
        "inventory_item_id": I,
        "sku": S,
        "asin": S,  # the Amazon listing of the SKU
        "title": S,
        "price_cents": I,
        "unit_cost_cents": I,
        "created_at": TS,
        "updated_at": TS,
    },
    "locations": {
        "location_id": I,
        "name": S,
        "kind": S,  # warehouse | popup | amazon_fba
        "is_shopify_location": B,  # Amazon FBA stock is not a Shopify location
        "city": S,
        "created_at": TS,
    },
    "inventory_levels": {  # stock per SKU x location as of the clock
        "inventory_item_id": I,
        "location_id": I,
        "sku": S,
        "on_hand": I,
        "committed": I,  # units in open orders not yet shipped from this location
        "available": I,  # on_hand - committed
        "updated_at": TS,
    },
    "inventory_movements": {  # every change of on_hand
        "movement_id": I,
        "inventory_item_id": I,
        "location_id": I,
        "sku": S,
        "occurred_at": TS,
        "delta": I,
        "reason": S,  # received | sold | returned | adjustment
    },
    # --- Shopify (web store) ----------------------------------------------------------------
    "shopify_customers": {
        "customer_id": I,
        "person_id": I,
        "first_name": S,
        "last_name": S,
        "email": S,
        "phone": S,
        "state": S,  # ENABLED (account) | DISABLED (created by a guest checkout)
        "tags": S,  # comma-separated
        "email_marketing_state": S,  # SUBSCRIBED | UNSUBSCRIBED | NOT_SUBSCRIBED
        "email_marketing_opt_in_level": S,  # SINGLE_OPT_IN | CONFIRMED_OPT_IN | UNKNOWN
        "email_consent_updated_at": TS,
        "city": S,
        "province_code": S,
        "zip": S,
        "country_code": S,
        "created_at": TS,
        "updated_at": TS,
    },
    "shopify_orders": {
        "order_id": I,
        "order_number": I,
        "name": S,  # "#1001"
        "person_id": I,
        "customer_id": I,  # null for a guest order that created no customer
        "email": S,
        "phone": S,
        "checkout_id": I,  # the abandoned checkout this order recovered, if any
        "created_at": TS,
        "processed_at": TS,
        "updated_at": TS,
        "cancelled_at": TS,
        "cancel_reason": S,  # CUSTOMER | FRAUD | INVENTORY | DECLINED | OTHER
        "is_test": B,
        "currency": S,
        "subtotal_cents": I,  # sum of line price x quantity
        "total_discounts_cents": I,  # sum of line discount allocations
        "total_tax_cents": I,
        "total_shipping_cents": I,
        "total_price_cents": I,  # subtotal - discounts + tax + shipping
        "total_refunded_cents": I,  # refunded line subtotals (no tax, no shipping)
        "discount_code": S,
        "financial_status": S,  # PAID | PARTIALLY_REFUNDED | REFUNDED | VOIDED
        "fulfillment_status": S,  # FULFILLED | UNFULFILLED
        "ship_first_name": S,
        "ship_last_name": S,
        "ship_city": S,
        "ship_province_code": S,
        "ship_zip": S,
        "ship_country_code": S,
    },
    "shopify_order_lines": {
        "line_item_id": I,
        "order_id": I,
        "variant_id": I,
        "sku": S,
        "title": S,
        "quantity": I,
        "price_cents": I,  # unit price
        "discount_cents": I,  # discount allocated to the line (all units)
    },
    "shopify_refunds": {
        "refund_id": I,
        "order_id": I,
        "created_at": TS,
        "note": S,
    },
    "shopify_refund_lines": {
        "refund_line_item_id": I,
        "refund_id": I,
        "line_item_id": I,
        "quantity": I,
        "subtotal_cents": I,  # refunded amount for these units, after their discount, no tax
        "restock_type": S,  # RETURN | NO_RESTOCK | CANCEL
    },
    "shopify_fulfillments": {
        "fulfillment_id": I,
        "order_id": I,
        "location_id": I,
        "status": S,  # SUCCESS | CANCELLED
        "tracking_company": S,
        "tracking_number": S,
        "created_at": TS,
        "updated_at": TS,
    },
    "shopify_abandoned_checkouts": {
        "checkout_id": I,
        "person_id": I,
        "customer_id": I,  # null when the shopper was not logged in
        "email": S,
        "phone": S,
        "created_at": TS,
        "updated_at": TS,
        "completed_at": TS,  # always null: a completed checkout is an order, not an abandonment
        "subtotal_cents": I,
        "total_price_cents": I,
        "abandoned_checkout_url": S,
    },
    "shopify_checkout_lines": {
        "checkout_id": I,
        "line_no": I,
        "variant_id": I,
        "sku": S,
        "title": S,
        "quantity": I,
        "price_cents": I,
    },
    # --- Amazon (marketplace, fulfilled by Amazon) ------------------------------------------
    "amazon_orders": {
        "amazon_order_id": S,  # "113-1234567-1234567"
        "person_id": I,
        "marketplace_id": S,
        "sales_channel": S,
        "purchase_date": TS,
        "last_update_date": TS,
        "order_status": S,  # Pending | Unshipped | Shipped | Canceled
        "fulfillment_channel": S,  # AFN
        "order_total_cents": I,
        "currency": S,
        "buyer_email": S,  # the buyer's stable relay address, xyz@marketplace.amazon.com
        "buyer_name": S,
        "ship_phone": S,  # only some orders carry it
        "ship_city": S,
        "ship_state": S,
        "ship_postal_code": S,
        "ship_country_code": S,
        "number_of_items_shipped": I,
        "number_of_items_unshipped": I,
        "is_business_order": B,
    },
    "amazon_order_items": {
        "order_item_id": S,
        "amazon_order_id": S,
        "asin": S,
        "seller_sku": S,
        "title": S,
        "quantity_ordered": I,
        "quantity_shipped": I,
        "item_price_cents": I,  # price of all units of the item (SP-API ItemPrice)
        "item_tax_cents": I,
        "promotion_discount_cents": I,
        "shipping_price_cents": I,
    },
    # --- POS (pop-up shop till) -------------------------------------------------------------
    "pos_transactions": {
        "transaction_id": S,  # "POS-<location>-<n>"
        "person_id": I,
        "location_id": I,
        "occurred_at": TS,
        "email": S,  # as typed at the till, often missing
        "phone": S,
    },
    "pos_lines": {
        "transaction_id": S,
        "line_no": I,
        "sku": S,
        "quantity": I,
        "gross_cents": I,  # unit price x quantity
        "discount_cents": I,
        "net_cents": I,  # gross - discount
    },
    # --- HubSpot (CRM) ----------------------------------------------------------------------
    "hubspot_companies": {
        "company_id": I,
        "name": S,
        "domain": S,
        "industry": S,
        "city": S,
        "createdate": TS,
        "hs_lastmodifieddate": TS,
        "archived_at": TS,
    },
    "hubspot_contacts": {
        "contact_id": I,
        "person_id": I,
        "email": S,
        "firstname": S,
        "lastname": S,
        "phone": S,
        "company_id": I,
        "lifecyclestage": S,  # subscriber | lead | customer | opportunity | other
        "shopify_customer_id": S,  # custom property, set by the store's CRM integration
        "createdate": TS,
        "lastmodifieddate": TS,
        "archived_at": TS,
    },
    "hubspot_deals": {
        "deal_id": I,
        "dealname": S,
        "amount_cents": I,
        "dealstage": S,  # appointmentscheduled | qualifiedtobuy | closedwon | closedlost ...
        "pipeline": S,
        "closedate": TS,
        "contact_id": I,
        "company_id": I,
        "createdate": TS,
        "hs_lastmodifieddate": TS,
        "archived_at": TS,
    },
    "hubspot_tickets": {
        "ticket_id": I,
        "contact_id": I,
        "subject": S,
        "content": S,
        "hs_pipeline": S,
        "hs_pipeline_stage": S,  # 1 new | 2 waiting on contact | 3 waiting on us | 4 closed
        "hs_ticket_priority": S,  # LOW | MEDIUM | HIGH
        "order_name": S,  # the order the caller asked about, if any
        "createdate": TS,
        "closed_date": TS,
        "hs_lastmodifieddate": TS,
        "archived_at": TS,
    },
    "hubspot_engagements": {  # served as the notes and calls objects
        "engagement_id": I,
        "kind": S,  # note | call
        "contact_id": I,
        "ticket_id": I,
        "hs_timestamp": TS,
        "body": S,
        "call_direction": S,  # INBOUND | OUTBOUND (calls)
        "call_duration_ms": I,
        "createdate": TS,
        "hs_lastmodifieddate": TS,
        "archived_at": TS,
    },
    # --- Klaviyo (email marketing) ----------------------------------------------------------
    "klaviyo_profiles": {
        "profile_id": S,  # 26-character ULID-like id
        "person_id": I,
        "email": S,
        "phone_number": S,
        "external_id": S,  # the Shopify customer id, for profiles synced from the store
        "first_name": S,
        "last_name": S,
        "city": S,
        "region": S,
        "zip": S,
        "email_consent": S,  # SUBSCRIBED | UNSUBSCRIBED | NEVER_SUBSCRIBED
        "email_consent_at": TS,
        "created": TS,
        "updated": TS,
    },
    "klaviyo_lists": {
        "list_id": S,  # 6 characters
        "name": S,
        "opt_in_process": S,  # single_opt_in | double_opt_in
        "created": TS,
        "updated": TS,
    },
    "klaviyo_list_members": {
        "list_id": S,
        "profile_id": S,
        "joined_at": TS,
    },
    "klaviyo_metrics": {
        "metric_id": S,
        "name": S,  # Received Email | Opened Email | Clicked Email | Unsubscribed | ...Checkout
        "integration": S,  # Klaviyo | Shopify
        "created": TS,
        "updated": TS,
    },
    "klaviyo_campaigns": {
        "campaign_id": S,
        "name": S,
        "status": S,  # Sent | Draft | Scheduled
        "channel": S,  # email
        "subject": S,
        "list_id": S,  # audience
        "send_time": TS,
        "created_at": TS,
        "scheduled_at": TS,
        "updated_at": TS,
    },
    "klaviyo_flows": {
        "flow_id": S,
        "name": S,
        "trigger_type": S,  # Added to List | Metric (e.g. Started Checkout)
        "status": S,  # live | draft
        "created": TS,
        "updated": TS,
    },
    "klaviyo_events": {
        "event_id": S,
        "metric_id": S,
        "profile_id": S,
        "datetime": TS,
        "campaign_id": S,  # the campaign of an email event, if any
        "flow_id": S,  # the flow of an email event, if any
        "message_id": S,
        "checkout_id": I,  # Started Checkout: the Shopify checkout
        "value_cents": I,  # Started Checkout: checkout value
    },
    # --- ShipStation (shipping labels) ------------------------------------------------------
    "shipstation_shipments": {
        "shipment_id": I,
        "order_id": I,  # the Shopify order id
        "order_number": S,  # the Shopify order name, "#1001"
        "customer_email": S,
        "ship_to_name": S,
        "ship_to_phone": S,
        "ship_to_city": S,
        "ship_to_state": S,
        "ship_to_postal_code": S,
        "ship_to_country": S,
        "create_date": TS,
        "ship_date": D,
        "carrier_code": S,  # ups | usps | fedex
        "service_code": S,  # ups_ground | usps_priority_mail | fedex_home_delivery ...
        "tracking_number": S,
        "shipment_cost_cents": I,
        "insurance_cost_cents": I,
        "weight_oz": I,
        "warehouse_id": I,
        "voided": B,
        "void_date": TS,
    },
    # --- EasyPost (tracking) ----------------------------------------------------------------
    "easypost_trackers": {
        "tracker_id": S,  # "trk_" + 32 hex
        "tracking_code": S,
        "carrier": S,  # UPS | USPS | FedEx
        "shipment_id": I,  # the ShipStation shipment it tracks (not served)
        "status": S,  # pre_transit|in_transit|out_for_delivery|delivered|return_to_sender|failure
        "est_delivery_date": TS,
        "delivered_at": TS,
        "created_at": TS,
        "updated_at": TS,
    },
    "easypost_tracking_details": {
        "tracker_id": S,
        "seq": I,
        "datetime": TS,
        "status": S,
        "message": S,
        "city": S,
        "state": S,
    },
}

# Source records that belong to a person, as the truth file names them. ``record_id`` is the id
# exactly as the vendor API exposes it (Shopify: the GID; HubSpot: the object id string; ...).
TRUTH_RECORD_TYPES: dict[tuple[str, str], tuple[str, str]] = {
    # (source, record_type): (world table, id column)
    ("shopify", "customer"): ("shopify_customers", "customer_id"),
    ("shopify", "order"): ("shopify_orders", "order_id"),
    ("shopify", "abandoned_checkout"): ("shopify_abandoned_checkouts", "checkout_id"),
    ("amazon", "order"): ("amazon_orders", "amazon_order_id"),
    ("pos", "transaction"): ("pos_transactions", "transaction_id"),
    ("hubspot", "contact"): ("hubspot_contacts", "contact_id"),
    ("klaviyo", "profile"): ("klaviyo_profiles", "profile_id"),
    ("shipstation", "shipment"): ("shipstation_shipments", "shipment_id"),
}

SHOPIFY_GID_TYPES = {
    "customer": "Customer",
    "order": "Order",
    "abandoned_checkout": "AbandonedCheckout",
}

TRUTH_IDENTITY: Schema = {"source": S, "record_type": S, "record_id": S, "person_id": I}


def shopify_gid(kind: str, legacy_id: int) -> str:
    """The Admin GraphQL id of a Shopify object: ``gid://shopify/Order/123``."""
    return f"gid://shopify/{kind}/{legacy_id}"


def empty(table: str) -> pl.DataFrame:
    """An empty frame with the table's schema."""
    return pl.DataFrame(schema=WORLD[table])


def conform(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with exactly the table's columns, in order, cast to their types."""
    schema = WORLD[table]
    missing = set(schema) - set(frame.columns)
    if missing:
        raise ValueError(f"world table {table!r} is missing columns {sorted(missing)}")
    return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
