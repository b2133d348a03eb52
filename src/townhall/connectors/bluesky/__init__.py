"""The Bluesky connector: mentions, replies, quotes and searches over atproto; publishing."""
