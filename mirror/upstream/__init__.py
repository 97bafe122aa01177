"""Reading an upstream index: the Simple API format, one index's session, several indexes in order."""
