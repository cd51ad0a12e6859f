"""Application services and the command layer, on real databases."""
