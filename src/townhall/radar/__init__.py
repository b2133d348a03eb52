"""Radar domain."""
