"""Amazon Selling Partner API emulator: Orders v0 and v2026-01-01, and the LWA token endpoint.

``http://127.0.0.1:PORT/amazon`` stands for ``https://sellingpartnerapi-na.amazon.com`` and, for the
token call only, for ``https://api.amazon.com``.

Endpoints
- ``POST /auth/o2/token`` (LWA): form fields ``grant_type=refresh_token``, ``refresh_token``,
  ``client_id``, ``client_secret`` -> ``{"access_token", "refresh_token", "token_type": "bearer",
  "expires_in": 3600}``; errors as LWA sends them: ``invalid_request``, ``unsupported_grant_type``,
  ``invalid_grant`` (400) and ``invalid_client`` (401).
- ``GET /orders/v0/orders`` (getOrders): see ``orders.py`` for the parameter rules; 100 per page.
- ``GET /orders/v0/orders/{orderId}`` (getOrder).
- ``GET /orders/v0/orders/{orderId}/orderItems`` (getOrderItems), ``NextToken`` paged; prices,
  taxes and promotions are left out while the order is ``Pending``, as Amazon does.
- ``GET /orders/2026-01-01/orders`` (searchOrders): orders with their items inline, the datasets
  asked for in ``includedData``, ``paginationToken`` paged; see ``search.py`` for the parameter
  rules and ``render_v2026.py`` for the records (no proceeds or prices while ``PENDING``).
- ``GET /orders/2026-01-01/orders/{orderId}`` (getOrder v2026): ``{"order": ...}``.

Every call but the token call needs ``x-amz-access-token``; a missing or wrong token gets 403
``Unauthorized``. Responses carry ``x-amzn-RateLimit-Limit`` and ``x-amzn-RequestId``; usage plans
(getOrders 0.0167/s burst 20, searchOrders 0.0056/s burst 20, getOrder / getOrderItems 0.5/s burst
30) throttle with 429 ``QuotaExceeded``. The buyer's PII (v0 BuyerInfo and ShippingAddress.Phone,
v2026 ``buyer`` and ``recipient``) is served as if the app held the PII roles (v0: a Restricted Data
Token). Both models say Amazon suppresses the ship-to phone of FBA orders, and v2026 documents
``buyerEmail`` for FBM orders only; the world's orders are all FBA and carry both, which the
sandbox serves so identity resolution keeps Amazon's relay emails.

Read-only: no write-side state.
"""

from pipelines.sandbox.vendors.amazon.emulator import AmazonEmulator

EMULATOR = AmazonEmulator

__all__ = ["EMULATOR", "AmazonEmulator"]
