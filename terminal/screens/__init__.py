"""The till's screens, one flow per module."""
