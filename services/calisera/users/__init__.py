"""Calisera users."""
