"""Amazon Selling Partner API source: orders and their items from the Orders API v0.

``orders`` merges on ``AmazonOrderId`` and loads incrementally on ``LastUpdateDate``: each run asks
getOrders for ``LastUpdatedAfter`` = the ``LastUpdatedBefore`` Amazon reported at the end of the
previous run (Amazon only vouches for completeness up to two minutes before now, and says so in
that field), so nothing changed in that two-minute gap is skipped. ``order_items`` is a
transformer of ``orders``: the items of exactly the orders that changed are fetched (getOrderItems)
and merged on ``OrderItemId``, each carrying its ``AmazonOrderId``. Orders are never deleted on
Amazon; a cancellation is ``OrderStatus = Canceled``, which staging carries.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import dlt
from dlt.sources import DltResource

from pipelines.sources.amazon.helpers import Page, SellingPartnerClient, later
from pipelines.sources.amazon.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_LWA_TOKEN_URL,
    DEFAULT_MARKETPLACE_IDS,
    DEFAULT_START_DATE,
    ITEM_READ_WORKERS,
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
    updated_since = dlt.sources.incremental[str]("LastUpdateDate", initial_value=start_date)

    @dlt.resource(
        name="orders",
        primary_key="AmazonOrderId",
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
            if page:
                yield page
        if window_end:
            state["last_updated_before"] = window_end

    @dlt.transformer(
        data_from=orders,
        name="order_items",
        primary_key="OrderItemId",
        write_disposition="merge",
        columns=ORDER_ITEM_COLUMNS,
        file_format=LOADER_FILE_FORMAT,
    )
    def order_items(page: Page) -> Iterator[Page]:
        """The items of each order in a page of changed orders, with their ``AmazonOrderId``."""
        order_ids = [order["AmazonOrderId"] for order in page]
        items: Page = []
        with ThreadPoolExecutor(max_workers=ITEM_READ_WORKERS) as pool:
            for order_id, order_items in zip(
                order_ids, pool.map(client.order_items, order_ids), strict=True
            ):
                for item in order_items:
                    item["AmazonOrderId"] = order_id
                items.extend(order_items)
        if items:
            yield items

    yield orders
    yield order_items


__all__ = ["amazon_source"]
