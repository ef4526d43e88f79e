"""The reference processing server (never imported by the terminal UI)."""
