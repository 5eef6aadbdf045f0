"""Calisera bookings."""
