"""The Admin GraphQL documents the source sends (paged queries, bulk queries, nested-page drains).

Field names are the Admin API's own (2025-07 onwards). Money is asked in shop currency only
(``shopMoney { amount }``): the shop's currency is ``Order.currencyCode``. Connections nested in
lists (``Refund.refundLineItems``) are not allowed in bulk queries, so refund line items are always
fetched through ``nodes(ids:)`` on the refunds (see helpers.RefundLines).
"""

from __future__ import annotations

from pipelines.sources.shopify.settings import INVENTORY_QUANTITY_NAMES

MONEY = "{ shopMoney { amount } }"
PAGE_INFO = "pageInfo { hasNextPage endCursor }"
ADDRESS = """{
  address1 address2 city company countryCodeV2 firstName lastName name phone provinceCode zip
}"""

ORDER = f"""
  id legacyResourceId name email phone createdAt processedAt updatedAt cancelledAt cancelReason
  closed confirmed test currencyCode presentmentCurrencyCode displayFinancialStatus
  displayFulfillmentStatus sourceName discountCodes tags note
  subtotalPriceSet {MONEY} totalDiscountsSet {MONEY} totalTaxSet {MONEY}
  totalShippingPriceSet {MONEY} totalPriceSet {MONEY} totalRefundedSet {MONEY}
  currentTotalPriceSet {MONEY}
  customer {{ id }}
  shippingAddress {ADDRESS}
  billingAddress {ADDRESS}
  refunds {{ id legacyResourceId createdAt updatedAt note totalRefundedSet {MONEY} }}
  fulfillments {{
    id legacyResourceId status createdAt updatedAt location {{ id }}
    trackingInfo {{ company number url }}
  }}
"""

LINE_ITEM = f"""
  id name title sku quantity currentQuantity variantTitle vendor requiresShipping taxable
  originalUnitPriceSet {MONEY} totalDiscountSet {MONEY}
  discountAllocations {{
    allocatedAmountSet {MONEY}
    discountApplication {{
      index allocationMethod targetSelection targetType
      ... on DiscountCodeApplication {{ code }}
      ... on AutomaticDiscountApplication {{ title }}
    }}
  }}
  variant {{ id }}
  product {{ id }}
"""

REFUND_LINE_ITEM = f"""
  id quantity restockType restocked priceSet {MONEY} subtotalSet {MONEY}
  lineItem {{ id }}
  location {{ id }}
"""

# Not asked: numberOfOrders and amountSpent (they change with orders and refunds while the
# customer's updatedAt may not, so an incremental copy would go stale; staging derives them from
# orders), likewise Product.totalInventory and ProductVariant.inventoryQuantity (stock is in
# inventory_levels). Nested objects carry only their id for the same reason.
CUSTOMER = f"""
  id legacyResourceId firstName lastName displayName email phone state tags note verifiedEmail
  createdAt updatedAt
  emailMarketingConsent {{ marketingState marketingOptInLevel consentUpdatedAt }}
  defaultAddress {ADDRESS}
"""

CHECKOUT = f"""
  id name abandonedCheckoutUrl createdAt updatedAt completedAt discountCodes note taxesIncluded
  subtotalPriceSet {MONEY} totalLineItemsPriceSet {MONEY} totalPriceSet {MONEY}
  customer {{ id }}
  billingAddress {ADDRESS}
  shippingAddress {ADDRESS}
"""

CHECKOUT_LINE_ITEM = f"""
  id title sku quantity variantTitle
  originalUnitPriceSet {MONEY} originalTotalPriceSet {MONEY}
  variant {{ id }}
  product {{ id }}
"""

PRODUCT = """
  id legacyResourceId title handle productType vendor status tags createdAt updatedAt publishedAt
"""

VARIANT = """
  id legacyResourceId sku title displayName price compareAtPrice barcode position createdAt
  updatedAt
  product { id }
  inventoryItem { id legacyResourceId sku tracked requiresShipping unitCost { amount } }
"""

LOCATION = """
  id legacyResourceId name isActive fulfillsOnlineOrders shipsInventory createdAt updatedAt
  address { address1 city countryCode provinceCode zip }
"""

QUANTITY_NAMES = ", ".join(f'"{name}"' for name in INVENTORY_QUANTITY_NAMES)
LEVEL = f"""
  id createdAt updatedAt
  item {{ id legacyResourceId sku }}
  quantities(names: [{QUANTITY_NAMES}]) {{ name quantity }}
"""


def _root_page(root: str, fields: str, sort_key: str, nested: str = "") -> str:
    lines = ", $lines: Int!" if nested else ""
    return f"""query Page($first: Int!, $after: String, $query: String{lines}) {{
  {root}(first: $first, after: $after, query: $query, sortKey: {sort_key}) {{
    nodes {{ {fields} {nested} }}
    {PAGE_INFO}
  }}
}}"""


def _lines(fields: str) -> str:
    return f"lineItems(first: $lines) {{ nodes {{ {fields} }} {PAGE_INFO} }}"


ORDERS_PAGE = _root_page("orders", ORDER, "UPDATED_AT", _lines(LINE_ITEM))
CUSTOMERS_PAGE = _root_page("customers", CUSTOMER, "UPDATED_AT")
PRODUCTS_PAGE = _root_page("products", PRODUCT, "UPDATED_AT")
# productVariants and abandonedCheckouts have no UPDATED_AT sort key: filter on updated_at, page
# by id (the filter bounds the set; paging by id neither repeats nor skips).
VARIANTS_PAGE = _root_page("productVariants", VARIANT, "ID")
CHECKOUTS_PAGE = _root_page("abandonedCheckouts", CHECKOUT, "ID", _lines(CHECKOUT_LINE_ITEM))

LOCATIONS_PAGE = f"""query Locations($first: Int!, $after: String) {{
  locations(first: $first, after: $after, includeInactive: true, sortKey: ID) {{
    nodes {{ {LOCATION} }}
    {PAGE_INFO}
  }}
}}"""

LEVELS_PAGE = f"""query Levels($id: ID!, $first: Int!, $after: String) {{
  location(id: $id) {{
    inventoryLevels(first: $first, after: $after) {{
      nodes {{ {LEVEL} }}
      {PAGE_INFO}
    }}
  }}
}}"""


def _drain(node_type: str, connection: str, fields: str) -> str:
    return f"""query More($id: ID!, $first: Int!, $after: String) {{
  node(id: $id) {{
    ... on {node_type} {{
      {connection}(first: $first, after: $after) {{ nodes {{ {fields} }} {PAGE_INFO} }}
    }}
  }}
}}"""


ORDER_LINES_MORE = _drain("Order", "lineItems", LINE_ITEM)
CHECKOUT_LINES_MORE = _drain("AbandonedCheckout", "lineItems", CHECKOUT_LINE_ITEM)
REFUND_LINES_MORE = _drain("Refund", "refundLineItems", REFUND_LINE_ITEM)

REFUND_LINES = f"""query RefundLines($ids: [ID!]!, $first: Int!) {{
  nodes(ids: $ids) {{
    ... on Refund {{
      id
      refundLineItems(first: $first) {{ nodes {{ {REFUND_LINE_ITEM} }} {PAGE_INFO} }}
    }}
  }}
}}"""


def _bulk(root: str, fields: str, search: str, children: str = "") -> str:
    nested = f"lineItems {{ edges {{ node {{ {children} }} }} }}" if children else ""
    return f"""{{
  {root}(query: "{search}") {{
    edges {{ node {{ {fields} {nested} }} }}
  }}
}}"""


def bulk_orders(search: str) -> str:
    """The bulk query for orders with their line items (``__parentId`` lines)."""
    return _bulk("orders", ORDER, search, LINE_ITEM)


def bulk_customers(search: str) -> str:
    """The bulk query for customers."""
    return _bulk("customers", CUSTOMER, search)


def bulk_checkouts(search: str) -> str:
    """The bulk query for abandoned checkouts with their line items."""
    return _bulk("abandonedCheckouts", CHECKOUT, search, CHECKOUT_LINE_ITEM)


BULK_RUN = """mutation Run($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}"""

BULK_CURRENT = """query Current {
  currentBulkOperation(type: QUERY) { id status query errorCode objectCount url }
}"""

# Several operations run at once (API 2026-01 on): one request reads them all.
BULK_ACTIVE = """query Active {
  bulkOperations(first: 25, query: "operation_type:query AND (status:created OR status:running)") {
    nodes { id status query }
  }
}"""

BULK_POLL = """query Poll($ids: [ID!]!) {
  nodes(ids: $ids) { ... on BulkOperation { id status errorCode objectCount url partialDataUrl } }
}"""

ACTIVE_LOCATIONS = f"""query ActiveLocations($first: Int!, $after: String) {{
  locations(first: $first, after: $after, sortKey: ID) {{ nodes {{ id }} {PAGE_INFO} }}
}}"""
