"""The `pulse` command end to end: processes, signals, clocks, hostile names, accuracy."""
