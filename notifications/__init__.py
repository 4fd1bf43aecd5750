"""Proactive order notifications (issue #17): tell customers about their order before they ask.

Events come from Shopify webhooks (shopify.py) and from polling the store (events.py); rules as
data (rules.yaml) decide which notify, on which channels, and when (quiet hours, one a day); the
runner (runner.py) turns each (order, event) into exactly one message in the order's
conversation, sent through the outbox. See docs/notifications.md."""
