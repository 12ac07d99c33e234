"""Amazon Selling Partner API source: orders and their items from the Orders API v2026-01-01.

One searchOrders call returns up to 100 orders with their items inline (``orderItems``), the
buyer, the ship-to address, the amounts and the status (``includedData``): a full load costs one
request per 100 orders, with no per-order calls.

``orders`` merges on ``orderId`` and loads incrementally on ``lastUpdatedTime``: each run asks
searchOrders for ``lastUpdatedAfter`` = the ``lastUpdatedBefore`` Amazon reported at the end of the
previous run (Amazon only vouches for completeness up to two minutes before now, and says so in
that field), so nothing changed in that two-minute gap is skipped. ``order_items`` is a
transformer of ``orders``: the inline items of exactly the orders that changed, merged on
``orderItemId``, each carrying its ``orderId``. Orders are never deleted on Amazon; a cancellation
is ``fulfillment.fulfillmentStatus = CANCELLED``, which staging carries.
"""

from __future__ import annotations

from collections.abc import Iterator

import dlt
from dlt.sources import DltResource

from pipelines.sources.amazon.helpers import Page, SellingPartnerClient, later
from pipelines.sources.amazon.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_LWA_TOKEN_URL,
    DEFAULT_MARKETPLACE_IDS,
    DEFAULT_START_DATE,
    LOADER_FILE_FORMAT,
    ORDER_COLUMNS,
    ORDER_ITEM_COLUMNS,
)
from pipelines.sources.settings import start_instant


@dlt.source(name="amazon")
def amazon_source(
    lwa_client_id: str = dlt.secrets.value,
    lwa_client_secret: str = dlt.secrets.value,
    refresh_token: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    lwa_token_url: str = DEFAULT_LWA_TOKEN_URL,
    marketplace_ids: str = DEFAULT_MARKETPLACE_IDS,
    start_date: str = DEFAULT_START_DATE,
) -> Iterator[DltResource]:
    """The ``orders`` and ``order_items`` resources of one seller account."""
    client = SellingPartnerClient(
        base_url=base_url,
        lwa_token_url=lwa_token_url,
        lwa_client_id=lwa_client_id,
        lwa_client_secret=lwa_client_secret,
        refresh_token=refresh_token,
        marketplace_ids=marketplace_ids,
    )
    start_date = start_instant(
        "amazon", start_date, "%Y-%m-%dT%H:%M:%SZ"
    )  # as Amazon renders times
    updated_since = dlt.sources.incremental[str]("lastUpdatedTime", initial_value=start_date)
    # orderId -> the items searchOrders returned inline, handed from `orders` (which lands the
    # orders without them) to `order_items` (which receives each page `orders` yields)
    inline_items: dict[str, Page] = {}

    @dlt.resource(
        name="orders",
        primary_key="orderId",
        write_disposition="merge",
        columns=ORDER_COLUMNS,
        file_format=LOADER_FILE_FORMAT,
    )
    def orders(
        updated: dlt.sources.incremental[str] = updated_since,
    ) -> Iterator[Page]:
        """Orders created or updated since the last run, a page (up to 100) at a time."""
        state = dlt.current.resource_state()
        window_start = later(updated.start_value or start_date, state.get("last_updated_before"))
        window_end = None
        for page, before in client.orders(window_start):
            window_end = before or window_end
            for order in page:
                inline_items[order["orderId"]] = order.pop("orderItems", None) or []
            if page:
                yield page
        if window_end:
            state["last_updated_before"] = window_end

    @dlt.transformer(
        data_from=orders,
        name="order_items",
        primary_key="orderItemId",
        write_disposition="merge",
        columns=ORDER_ITEM_COLUMNS,
        file_format=LOADER_FILE_FORMAT,
    )
    def order_items(page: Page) -> Iterator[Page]:
        """The inline items of each order in a page of changed orders, with their ``orderId``."""
        items: Page = []
        for order in page:
            for item in inline_items.pop(order["orderId"], []):
                item["orderId"] = order["orderId"]
                items.append(item)
        if items:
            yield items

    yield orders
    yield order_items


__all__ = ["amazon_source"]
