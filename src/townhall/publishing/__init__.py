"""Publishing domain."""
