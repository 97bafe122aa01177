"""pypi-mirror: requirements in, a static, standards-true Simple API tree out.

The data flow, one folder per stage (docs/layout.md):

    inputs/ requirements --resolve/--> pins per target, then the lock
    --fetch/--> hash-checked files --tree/--> simple/ tree, pages, image layers
    (advisories/ beside them; verify/ and publish/ apart from the build)
"""

__version__ = "0.1.0"
