"""pypi-mirror: requirements in, a static, standards-true Simple API tree out.

The data flow, one module per stage:

    requirements --resolve--> pins per target --select--> lock
    lock --download--> verified files --index--> simple/ tree
"""

__version__ = "0.1.0"
