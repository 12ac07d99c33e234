"""The served subset of the Shopify Admin GraphQL schema (SDL), with the Admin API's own names.

Every type, field, argument and enum value below exists in the real Admin API (checked against
``r0busta/go-shopify-graphql-model:schema.graphql`` and shopify.dev, versions 2025-07..2026-10);
fields the sandbox world cannot fill truthfully are left out rather than invented, so a query that
works here works against a real shop.
"""

from __future__ import annotations

_PAGING = """
    first: Int
    after: String
    last: Int
    before: String
    reverse: Boolean = false
"""

_COUNTRY_CODES = (
    "AE AR AT AU BE BR CA CH CL CN CO CZ DE DK ES FI FR GB GR HK IE IL IN IT JP KR MX NL NO NZ "
    "PH PL PT RO SE SG TH TR TW UA US ZA"
)


def _connection(node: str) -> str:
    return f"""
type {node}Connection {{
  edges: [{node}Edge!]!
  nodes: [{node}!]!
  pageInfo: PageInfo!
}}

type {node}Edge {{
  cursor: String!
  node: {node}!
}}
"""


SDL = f"""
schema {{
  query: QueryRoot
  mutation: Mutation
}}

scalar DateTime
scalar Decimal
scalar Money
scalar UnsignedInt64
scalar URL

interface Node {{
  id: ID!
}}

type PageInfo {{
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}}

enum CurrencyCode {{ USD EUR GBP CAD AUD }}
enum CountryCode {{ {_COUNTRY_CODES} }}

type MoneyV2 {{
  amount: Decimal!
  currencyCode: CurrencyCode!
}}

type MoneyBag {{
  shopMoney: MoneyV2!
  presentmentMoney: MoneyV2!
}}

type MailingAddress implements Node {{
  id: ID!
  address1: String
  address2: String
  city: String
  company: String
  countryCodeV2: CountryCode
  firstName: String
  lastName: String
  name: String
  phone: String
  provinceCode: String
  zip: String
}}

type Shop implements Node {{
  id: ID!
  name: String!
  email: String!
  currencyCode: CurrencyCode!
  ianaTimezone: String!
  myshopifyDomain: String!
}}

type QueryRoot {{
  abandonedCheckouts({_PAGING}
    sortKey: AbandonedCheckoutSortKeys = ID
    query: String
  ): AbandonedCheckoutConnection!
  bulkOperation(id: ID!): BulkOperation
  bulkOperations({_PAGING}
    sortKey: BulkOperationsSortKeys = CREATED_AT
    query: String
  ): BulkOperationConnection!
  currentBulkOperation(type: BulkOperationType = QUERY): BulkOperation
  customer(id: ID!): Customer
  customers({_PAGING}
    sortKey: CustomerSortKeys = ID
    query: String
  ): CustomerConnection!
  inventoryItem(id: ID!): InventoryItem
  inventoryItems({_PAGING}
    query: String
  ): InventoryItemConnection!
  location(id: ID): Location
  locations({_PAGING}
    sortKey: LocationSortKeys = NAME
    query: String
    includeLegacy: Boolean = false
    includeInactive: Boolean = false
  ): LocationConnection!
  node(id: ID!): Node
  nodes(ids: [ID!]!): [Node]!
  order(id: ID!): Order
  orders({_PAGING}
    sortKey: OrderSortKeys = PROCESSED_AT
    query: String
  ): OrderConnection!
  product(id: ID!): Product
  products({_PAGING}
    sortKey: ProductSortKeys = ID
    query: String
  ): ProductConnection!
  productVariant(id: ID!): ProductVariant
  productVariants({_PAGING}
    sortKey: ProductVariantSortKeys = ID
    query: String
  ): ProductVariantConnection!
  shop: Shop!
}}

type Mutation {{
  bulkOperationCancel(id: ID!): BulkOperationCancelPayload
  bulkOperationRunQuery(
    query: String!
    groupObjects: Boolean! = false
  ): BulkOperationRunQueryPayload
}}

# --- orders -------------------------------------------------------------------------------

enum OrderSortKeys {{ CREATED_AT ID ORDER_NUMBER PROCESSED_AT TOTAL_PRICE UPDATED_AT }}
enum OrderCancelReason {{ CUSTOMER DECLINED FRAUD INVENTORY OTHER STAFF }}
enum OrderDisplayFinancialStatus {{
  AUTHORIZED EXPIRED PAID PARTIALLY_PAID PARTIALLY_REFUNDED PENDING REFUNDED VOIDED
}}
enum OrderDisplayFulfillmentStatus {{
  FULFILLED IN_PROGRESS ON_HOLD OPEN PARTIALLY_FULFILLED PENDING_FULFILLMENT REQUEST_DECLINED
  RESTOCKED SCHEDULED UNFULFILLED
}}

type Order implements Node {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
  email: String
  phone: String
  createdAt: DateTime!
  processedAt: DateTime!
  updatedAt: DateTime!
  cancelledAt: DateTime
  cancelReason: OrderCancelReason
  closed: Boolean!
  confirmed: Boolean!
  test: Boolean!
  currencyCode: CurrencyCode!
  presentmentCurrencyCode: CurrencyCode!
  displayFinancialStatus: OrderDisplayFinancialStatus
  displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  sourceName: String
  discountCode: String
  discountCodes: [String!]!
  tags: [String!]!
  note: String
  subtotalPriceSet: MoneyBag
  totalDiscountsSet: MoneyBag
  totalTaxSet: MoneyBag
  totalShippingPriceSet: MoneyBag!
  totalPriceSet: MoneyBag!
  totalRefundedSet: MoneyBag!
  currentTotalPriceSet: MoneyBag!
  customer: Customer
  shippingAddress: MailingAddress
  billingAddress: MailingAddress
  lineItems({_PAGING}): LineItemConnection!
  refunds(first: Int): [Refund!]!
  fulfillments(first: Int): [Fulfillment!]!
}}

type LineItem implements Node {{
  id: ID!
  name: String!
  title: String!
  sku: String
  quantity: Int!
  currentQuantity: Int!
  variantTitle: String
  vendor: String
  requiresShipping: Boolean!
  taxable: Boolean!
  originalUnitPriceSet: MoneyBag!
  originalTotalSet: MoneyBag!
  discountedTotalSet: MoneyBag!
  totalDiscountSet: MoneyBag!
  discountAllocations: [DiscountAllocation!]!
  variant: ProductVariant
  product: Product
}}

type DiscountAllocation {{
  allocatedAmountSet: MoneyBag!
  discountApplication: DiscountApplication!
}}

enum DiscountApplicationAllocationMethod {{ ACROSS EACH }}
enum DiscountApplicationTargetSelection {{ ALL ENTITLED EXPLICIT }}
enum DiscountApplicationTargetType {{ LINE_ITEM SHIPPING_LINE }}

interface DiscountApplication {{
  allocationMethod: DiscountApplicationAllocationMethod!
  index: Int!
  targetSelection: DiscountApplicationTargetSelection!
  targetType: DiscountApplicationTargetType!
}}

type DiscountCodeApplication implements DiscountApplication {{
  allocationMethod: DiscountApplicationAllocationMethod!
  index: Int!
  targetSelection: DiscountApplicationTargetSelection!
  targetType: DiscountApplicationTargetType!
  code: String!
}}

type AutomaticDiscountApplication implements DiscountApplication {{
  allocationMethod: DiscountApplicationAllocationMethod!
  index: Int!
  targetSelection: DiscountApplicationTargetSelection!
  targetType: DiscountApplicationTargetType!
  title: String!
}}

type Refund implements Node {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  createdAt: DateTime
  updatedAt: DateTime!
  note: String
  totalRefundedSet: MoneyBag!
  refundLineItems({_PAGING}): RefundLineItemConnection!
}}

enum RefundLineItemRestockType {{ CANCEL LEGACY_RESTOCK NO_RESTOCK RETURN }}

type RefundLineItem {{
  id: ID
  lineItem: LineItem!
  quantity: Int!
  restockType: RefundLineItemRestockType!
  restocked: Boolean!
  priceSet: MoneyBag!
  subtotalSet: MoneyBag!
  location: Location
}}

enum FulfillmentStatus {{ CANCELLED ERROR FAILURE OPEN PENDING SUCCESS }}

type Fulfillment implements Node {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  status: FulfillmentStatus!
  createdAt: DateTime!
  updatedAt: DateTime!
  trackingInfo(first: Int): [FulfillmentTrackingInfo!]!
  location: Location
}}

type FulfillmentTrackingInfo {{
  company: String
  number: String
  url: URL
}}

# --- customers ----------------------------------------------------------------------------

enum CustomerSortKeys {{ CREATED_AT ID NAME UPDATED_AT }}
enum CustomerState {{ DECLINED DISABLED ENABLED INVITED }}
enum CustomerEmailMarketingState {{
  INVALID NOT_SUBSCRIBED PENDING REDACTED SUBSCRIBED UNSUBSCRIBED
}}
enum CustomerEmailAddressMarketingState {{
  INVALID NOT_SUBSCRIBED PENDING SUBSCRIBED UNSUBSCRIBED
}}
enum CustomerMarketingOptInLevel {{ CONFIRMED_OPT_IN SINGLE_OPT_IN UNKNOWN }}

type Customer implements Node {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  firstName: String
  lastName: String
  displayName: String!
  email: String
  phone: String
  state: CustomerState!
  tags: [String!]!
  note: String
  verifiedEmail: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  numberOfOrders: UnsignedInt64!
  amountSpent: MoneyV2!
  emailMarketingConsent: CustomerEmailMarketingConsentState
  defaultEmailAddress: CustomerEmailAddress
  defaultPhoneNumber: CustomerPhoneNumber
  defaultAddress: MailingAddress
  addresses(first: Int): [MailingAddress!]!
}}

type CustomerEmailMarketingConsentState {{
  marketingState: CustomerEmailMarketingState!
  marketingOptInLevel: CustomerMarketingOptInLevel
  consentUpdatedAt: DateTime
}}

type CustomerEmailAddress {{
  emailAddress: String!
  marketingState: CustomerEmailAddressMarketingState!
}}

type CustomerPhoneNumber {{
  phoneNumber: String!
}}

# --- catalogue and stock ------------------------------------------------------------------

enum ProductSortKeys {{ CREATED_AT ID PRODUCT_TYPE TITLE UPDATED_AT VENDOR }}
enum ProductVariantSortKeys {{ ID SKU TITLE }}
enum ProductStatus {{ ACTIVE ARCHIVED DRAFT }}
enum LocationSortKeys {{ ID NAME }}

type Product implements Node {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  title: String!
  handle: String!
  productType: String!
  vendor: String!
  status: ProductStatus!
  tags: [String!]!
  createdAt: DateTime!
  updatedAt: DateTime!
  publishedAt: DateTime
  totalInventory: Int!
  variants({_PAGING}): ProductVariantConnection!
}}

type ProductVariant implements Node {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  sku: String
  title: String!
  displayName: String!
  price: Money!
  compareAtPrice: Money
  barcode: String
  position: Int!
  createdAt: DateTime!
  updatedAt: DateTime!
  inventoryQuantity: Int
  product: Product!
  inventoryItem: InventoryItem!
}}

type InventoryItem implements Node {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  sku: String
  tracked: Boolean!
  requiresShipping: Boolean!
  unitCost: MoneyV2
  createdAt: DateTime!
  updatedAt: DateTime!
  variant: ProductVariant!
  inventoryLevel(locationId: ID!): InventoryLevel
  inventoryLevels({_PAGING}
    query: String
  ): InventoryLevelConnection!
}}

type Location implements Node {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
  isActive: Boolean!
  fulfillsOnlineOrders: Boolean!
  shipsInventory: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  address: LocationAddress!
  inventoryLevel(inventoryItemId: ID!): InventoryLevel
  inventoryLevels({_PAGING}
    query: String
  ): InventoryLevelConnection!
}}

type LocationAddress {{
  address1: String
  city: String
  countryCode: String
  provinceCode: String
  zip: String
}}

type InventoryLevel implements Node {{
  id: ID!
  item: InventoryItem!
  location: Location!
  quantities(names: [String!]!): [InventoryQuantity!]!
  createdAt: DateTime!
  updatedAt: DateTime!
}}

type InventoryQuantity implements Node {{
  id: ID!
  name: String!
  quantity: Int!
  updatedAt: DateTime
}}

# --- abandoned checkouts ------------------------------------------------------------------

enum AbandonedCheckoutSortKeys {{ CHECKOUT_ID CREATED_AT ID TOTAL_PRICE }}

type AbandonedCheckout implements Node {{
  id: ID!
  name: String!
  abandonedCheckoutUrl: URL!
  createdAt: DateTime!
  updatedAt: DateTime!
  completedAt: DateTime
  customer: Customer
  discountCodes: [String!]!
  note: String!
  taxesIncluded: Boolean!
  subtotalPriceSet: MoneyBag!
  totalLineItemsPriceSet: MoneyBag!
  totalPriceSet: MoneyBag!
  billingAddress: MailingAddress
  shippingAddress: MailingAddress
  lineItems({_PAGING}): AbandonedCheckoutLineItemConnection!
}}

type AbandonedCheckoutLineItem implements Node {{
  id: ID!
  title: String
  sku: String
  quantity: Int!
  variantTitle: String
  originalUnitPriceSet: MoneyBag!
  originalTotalPriceSet: MoneyBag!
  variant: ProductVariant
  product: Product
}}

# --- bulk operations ----------------------------------------------------------------------

enum BulkOperationStatus {{ CANCELED CANCELING COMPLETED CREATED EXPIRED FAILED RUNNING }}
enum BulkOperationType {{ MUTATION QUERY }}
enum BulkOperationErrorCode {{ ACCESS_DENIED INTERNAL_SERVER_ERROR TIMEOUT }}
enum BulkOperationUserErrorCode {{ INVALID LIMIT_REACHED OPERATION_IN_PROGRESS }}
enum BulkOperationsSortKeys {{ CREATED_AT ID }}

type BulkOperation implements Node {{
  id: ID!
  status: BulkOperationStatus!
  type: BulkOperationType!
  query: String!
  createdAt: DateTime!
  completedAt: DateTime
  objectCount: UnsignedInt64!
  rootObjectCount: UnsignedInt64!
  fileSize: UnsignedInt64
  url: URL
  partialDataUrl: URL
  errorCode: BulkOperationErrorCode
}}

type BulkOperationRunQueryPayload {{
  bulkOperation: BulkOperation
  userErrors: [BulkOperationUserError!]!
}}

type BulkOperationUserError {{
  code: BulkOperationUserErrorCode
  field: [String!]
  message: String!
}}

type BulkOperationCancelPayload {{
  bulkOperation: BulkOperation
  userErrors: [UserError!]!
}}

type UserError {{
  field: [String!]
  message: String!
}}
""" + "".join(
    _connection(node)
    for node in (
        "AbandonedCheckout",
        "AbandonedCheckoutLineItem",
        "BulkOperation",
        "Customer",
        "InventoryItem",
        "InventoryLevel",
        "LineItem",
        "Location",
        "Order",
        "Product",
        "ProductVariant",
        "RefundLineItem",
    )
)
