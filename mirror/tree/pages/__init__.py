"""The pages for people: their model (model.py), templates (templates/), assets and client config files."""
