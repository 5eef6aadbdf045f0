"""Calisera: appointment booking platform."""
