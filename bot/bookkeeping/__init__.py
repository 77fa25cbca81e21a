"""Bookkeeping services: matching after the acknowledgement, owner actions, customers and invoices.

Services take the caller's session and never commit; the unit of work (bot.storage.db) commits once."""
