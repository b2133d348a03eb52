"""The JSONL connector: Post JSONL files, exports and replays."""
