"""borgkit scheduling package."""
