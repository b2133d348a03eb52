"""Pipeline domain."""
