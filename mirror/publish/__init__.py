"""Uploading a mirror's files to another index (build.py publish); not part of the build."""
