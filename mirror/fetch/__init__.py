"""Stage 3, pins -> files: downloads checked against the lock's sha256, wheel metadata, PEP 740 provenance."""
