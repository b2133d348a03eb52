"""The RSS/Atom connector: a channel's news feeds, polled with conditional GET."""

from townhall.connectors.rss.connector import RssConnector

__all__ = ["RssConnector"]
