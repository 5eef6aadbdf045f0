"""Calisera analytics."""
