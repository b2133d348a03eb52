"""Speaking for the company: drafts and replies, approvals, and the outbox that publishes
exactly once (``drafts``: who may say what and who approves it; ``publisher``: claiming,
publishing and reconciling what is due)."""
