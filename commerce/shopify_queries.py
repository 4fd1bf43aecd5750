"""The GraphQL documents ShopifyStore sends to the Admin API (version 2025-10 shapes).

Each document is named: the name keys the learned query cost used for throttling
(shopify_client.py) and shows up in Shopify's logs."""

from __future__ import annotations


def quoted(value: str) -> str:
    """A value for Shopify's search syntax (`email:"jo@example.com"`), quotes stripped."""
    return '"' + value.replace("\\", "").replace('"', "") + '"'


_MONEY = "shopMoney { amount currencyCode }"
_ADDRESS = "name firstName lastName address1 address2 city provinceCode zip countryCodeV2"

ORDER_FIELDS = f"""
fragment OrderFields on Order {{
  id name email createdAt cancelledAt cancelReason
  displayFinancialStatus displayFulfillmentStatus currencyCode
  subtotalPriceSet {{ {_MONEY} }}
  totalShippingPriceSet {{ {_MONEY} }}
  totalTaxSet {{ {_MONEY} }}
  totalPriceSet {{ {_MONEY} }}
  totalRefundedSet {{ {_MONEY} }}
  totalOutstandingSet {{ {_MONEY} }}
  customer {{ id }}
  paymentGatewayNames
  transactions(first: 5) {{
    kind status gateway
    paymentDetails {{ ... on CardPaymentDetails {{ company number }} }}
  }}
  shippingAddress {{ {_ADDRESS} }}
  cancellation {{ staffNote }}
  lineItems(first: 50) {{
    nodes {{
      id title variantTitle sku quantity refundableQuantity
      discountedUnitPriceSet {{ {_MONEY} }}
      product {{ id productType tags }}
    }}
  }}
  fulfillments(first: 10) {{
    id createdAt inTransitAt deliveredAt estimatedDeliveryAt displayStatus
    trackingInfo(first: 1) {{ company number url }}
    fulfillmentLineItems(first: 50) {{ nodes {{ id quantity lineItem {{ id }} }} }}
    events(first: 20) {{ nodes {{ happenedAt status message city province }} }}
  }}
  returns(first: 20) {{
    nodes {{
      id name status createdAt
      returnLineItems(first: 50) {{
        nodes {{
          quantity returnReason returnReasonNote
          ... on ReturnLineItem {{ fulfillmentLineItem {{ id lineItem {{ id }} }} }}
        }}
      }}
    }}
  }}
}}
"""

FIND_ORDER = (
    """
query FindOrder($query: String!) {
  orders(first: 1, query: $query) { nodes { ...OrderFields } }
}
"""
    + ORDER_FIELDS
)

LIST_ORDERS = (
    """
query ListOrders($first: Int!, $query: String) {
  orders(first: $first, query: $query, sortKey: CREATED_AT, reverse: true) {
    nodes { ...OrderFields }
  }
}
"""
    + ORDER_FIELDS
)

RECENT_ORDER_NAMES = """
query RecentOrderNames {
  orders(first: 25, sortKey: CREATED_AT, reverse: true) { nodes { name } }
}
"""

ORDER_MARKER = """
query OrderMarker($id: ID!, $key: String!) {
  order(id: $id) { id metafield(namespace: "support_agent", key: $key) { value } }
}
"""

GET_CUSTOMER = f"""
query GetCustomer($id: ID!) {{
  customer(id: $id) {{
    id firstName lastName createdAt tags
    defaultEmailAddress {{ emailAddress }}
    defaultPhoneNumber {{ phoneNumber }}
    defaultAddress {{ {_ADDRESS} }}
  }}
}}
"""

PRODUCT_FIELDS = """
fragment ProductFields on Product {
  id title productType description tags
  options { name values }
  variants(first: 100) {
    nodes { sku title price inventoryQuantity inventoryPolicy selectedOptions { name value } }
  }
}
"""

GET_PRODUCT = (
    """
query GetProduct($id: ID!) {
  product(id: $id) { ...ProductFields }
}
"""
    + PRODUCT_FIELDS
)

SEARCH_PRODUCTS = (
    """
query SearchProducts($first: Int!, $query: String!) {
  products(first: $first, query: $query, sortKey: RELEVANCE) { nodes { ...ProductFields } }
}
"""
    + PRODUCT_FIELDS
)

VARIANT_BY_SKU = """
query VariantBySku($query: String!) {
  productVariants(first: 1, query: $query) { nodes { id sku title product { title } } }
}
"""

RETURN_CREATE = """
mutation ReturnCreate($returnInput: ReturnInput!) {
  returnCreate(returnInput: $returnInput) {
    return { id name status createdAt }
    userErrors { field message }
  }
}
"""

ORDER_CANCEL = """
mutation OrderCancel(
  $orderId: ID!, $reason: OrderCancelReason!, $refundMethod: OrderCancelRefundMethodInput,
  $restock: Boolean!, $notifyCustomer: Boolean, $staffNote: String
) {
  orderCancel(
    orderId: $orderId, reason: $reason, refundMethod: $refundMethod, restock: $restock,
    notifyCustomer: $notifyCustomer, staffNote: $staffNote
  ) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
"""

JOB = """
query Job($id: ID!) { job(id: $id) { id done } }
"""

ORDER_UPDATE = (
    """
mutation OrderUpdate($input: OrderInput!) {
  orderUpdate(input: $input) {
    order { ...OrderFields }
    userErrors { field message }
  }
}
"""
    + ORDER_FIELDS
)

PING = """
query Ping { shop { name } }
"""
