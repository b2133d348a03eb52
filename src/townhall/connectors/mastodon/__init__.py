"""The Mastodon connector (Mastodon.py) and a local stand-in Mastodon server."""
