"""Calisera core."""
