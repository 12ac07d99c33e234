"""Shopify Admin GraphQL API emulator (``/shopify`` stands for ``https://{shop}.myshopify.com``).

Endpoints
- ``POST /admin/api/{version}/graphql.json``: the Admin GraphQL API (JSON body ``{"query",
  "variables", "operationName"}`` or ``application/graphql``). Versions 2025-07..2026-10 and
  ``unstable``; a retired ``YYYY-MM`` falls forward to the oldest supported one (the
  ``X-Shopify-API-Version`` header says which answered); anything else is 404.
  Auth: ``X-Shopify-Access-Token``; otherwise 401 ``{"errors":"[API] Invalid API key or access
  token (unrecognized login or wrong password)"}``. Query roots: ``orders``, ``customers``,
  ``products``, ``productVariants``, ``inventoryItems``, ``locations`` (Shopify locations only;
  ``inventoryLevels`` with ``quantities(names:)``), ``abandonedCheckouts``, single-object
  lookups, ``node``/``nodes``, ``shop``, ``currentBulkOperation``/``bulkOperation``/
  ``bulkOperations`` (2026-01 on); mutations ``bulkOperationRunQuery`` (one query operation at a
  time before 2026-01, five from 2026-01 on) and ``bulkOperationCancel``. Connections page with
  ``first``/``after``/``last``/``before``/``reverse`` (at most 250), ``sortKey`` and the ``query:``
  search syntax.
  Every response carries ``extensions.cost``; queries above 1000 points fail with
  ``MAX_COST_EXCEEDED``; an empty leaky bucket (2000 points, 100/s; x20 in ``fast`` mode) answers
  ``THROTTLED`` with HTTP ``ShopifyEmulator.throttled_status`` (200).
- ``GET /_bulk/{n}.jsonl``: a completed bulk operation's result (no token, like a signed URL).

Money note: ``Order.subtotalPriceSet`` is after line discounts (Shopify's meaning), i.e. world
``subtotal_cents - total_discounts_cents``; line prices are ``LineItem.originalUnitPriceSet``.

Write-state document (``server.state("shopify")``): ``{"bulk_operations": [{"id", "status",
"type", "query", "group_objects", "created_at", "completed_at", "object_count",
"root_object_count", "file_size", "file", "error_code"}]}``.
"""

from pipelines.sandbox.vendors.shopify.emulator import ShopifyEmulator

EMULATOR = ShopifyEmulator

__all__ = ["EMULATOR", "ShopifyEmulator"]
