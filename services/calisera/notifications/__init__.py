"""Calisera notifications."""
