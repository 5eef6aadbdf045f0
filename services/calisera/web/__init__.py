"""Calisera web."""
