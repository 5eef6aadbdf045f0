"""Calisera listing."""
