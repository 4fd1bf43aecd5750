"""The demo store: a separate SQLite database with generated (or imported) customers and orders.

Public entry points:

- `DemoStore`, `ensure_demo_store` (store.py) - the StoreBackend over the SQLite file.
- `generate_demo_store`, `generate_demo_data` (generate.py) - deterministic data from a seed.
- `import_store`, `export_store` (importer.py) - the merchant JSON format.
- writes (returns.py, order_writes.py), each exactly once per key (applied.py); older files are
  upgraded when opened (upgrade.py).
"""
