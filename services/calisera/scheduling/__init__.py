"""Calisera scheduling."""
