"""Stage 4, files -> the served tree: Simple API pages, manifest, SBOM, changes, landing pages, image layer plan."""
