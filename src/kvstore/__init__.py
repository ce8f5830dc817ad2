"""borgkit kvstore package."""
