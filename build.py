#!/usr/bin/env python3
"""Build a static PyPI mirror: python build.py build -r requirements/pip-audit.txt -o out/"""

from mirror.cli import main

raise SystemExit(main())
