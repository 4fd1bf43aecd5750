"""Customer-facing channels: the WebSocket chat protocol and endpoint (email comes later)."""
