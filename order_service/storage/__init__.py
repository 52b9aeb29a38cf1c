"""Adapters: the database tables and every SQL statement over them (one module per kind of row),
the cart store (Redis or in-process memory)."""
