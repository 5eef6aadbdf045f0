"""Calisera providers."""
