"""Store domain: models, the StoreBackend protocol, the demo store and (later) real adapters."""
