"""The flows: users, catalog, checkout, cancel and expiry, payment link and events."""
