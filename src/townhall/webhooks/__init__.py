"""Webhooks: signed outgoing deliveries of Townhall's events (an outbox written with each
change, sent by a background loop with retries) and the incoming connector through which other
tools push posts in (``POST /hooks/{channel}``). See docs/webhooks.md."""
