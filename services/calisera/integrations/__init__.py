"""Integrations: the provider's own calendar both ways (iCalendar feed, two-way CalDAV)
and signed webhooks, all fed by the booking events of the outbox pipeline."""
