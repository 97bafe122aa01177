"""Stage 2, requirements -> pins: uv resolves, selection picks each pin's files and hashes, the lock records them."""
