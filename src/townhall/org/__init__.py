"""The organisation: policy (departments, people, ownership matrix, channels) and accounts."""
