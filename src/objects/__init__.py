"""borgkit objects package."""
