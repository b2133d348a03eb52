"""Understand posts: sentiment, intent, actionable, toxicity, language, country, reach, topics.

Import from the modules themselves (``townhall.understand.sentiment`` …): this package file stays
empty so that the light ones (``labels``) do not load every model.
"""
