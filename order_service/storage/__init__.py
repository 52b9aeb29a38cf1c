"""Adapters: database tables and engine, the cart store (Redis or in-process memory)."""
