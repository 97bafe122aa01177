"""Plumbing no stage owns: atomic files, HTTP with retries and masking, a thread pool, the uv tool, file stamps."""
