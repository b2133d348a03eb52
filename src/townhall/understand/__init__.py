"""Understand domain."""
