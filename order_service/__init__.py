"""The order service: users, catalog, Redis cart, orders that never oversell, payment lifecycle."""
