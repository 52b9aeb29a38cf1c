"""Pure order logic: states and transitions, totals, order ids, domain errors. No I/O here."""
