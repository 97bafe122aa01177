"""Checking a running mirror against the standards it serves (build.py verify); not part of the build."""
