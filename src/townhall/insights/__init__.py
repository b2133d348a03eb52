"""Insights domain."""
