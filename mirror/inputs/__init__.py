"""Stage 1, what to mirror: requirement sets (requirements files, pyproject.toml, pylock.toml, uv.lock) and targets."""
