"""Calisera web: the customer booking pages and the provider console shell.

Decisions worth knowing:

- Server-rendered Jinja2 (autoescape on), no JavaScript needed to book. One small
  script reports the browser's time zone (``?tz=``); the server validates it against
  the IANA database and falls back to the provider's zone.
- The web service is a *public* client of the other services: its HTTP clients drop
  the platform admin token, so a booking is only shown with the customer's manage
  token and suspended providers stay hidden (:mod:`calisera.web.clients`).
- A double submit books once: every form render carries a random nonce that becomes
  the ``Idempotency-Key`` of ``POST /api/v1/bookings``.
- Manage tokens never stay in an address: e-mails link to ``/p/{slug}/manage/{id}?token=``,
  and that landing keeps the token in an HttpOnly, SameSite=Strict cookie scoped to the
  booking's path and answers the same address without it (:mod:`calisera.web.manage_token`).
  "Add to calendar" links to ``/p/{slug}/manage/{id}/booking.ics``, which fetches
  ``/api/v1/bookings/{id}/ics`` with the ``X-Manage-Token`` header.
- Every answer carries the security headers (:mod:`calisera.web.pages`): a CSP of
  ``'self'`` with no inline script or style (images may also come from ``https:`` for the
  provider's logo; the accent colour is the stylesheet ``/p/{slug}/theme.css``),
  ``frame-ancestors 'self'``, ``nosniff``, ``Referrer-Policy: no-referrer``, and HSTS over
  TLS. No fonts, scripts or styles are fetched from anywhere else.
- ``/console`` is the provider app, an installable PWA rendered on the server
  (:mod:`calisera.web.console_session` and the ``console_*`` screens): it calls the other
  services' APIs with the access token of the browser's BFF session, never their tables.
"""
