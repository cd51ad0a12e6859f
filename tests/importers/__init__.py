"""Export readers and `pulse import`, on real files and the shared samples."""
