"""Network channels at run time: their secrets, cursors and health, and listening on them."""
