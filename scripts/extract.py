"""Events of every sentence of articles: python scripts/extract.py FILE_OR_FOLDER_OR_- [--format csv]

Runs the installed package (``make install`` or ``pip install -e .`` installs this checkout into .venv).
"""

import sys

from model.cli import extract_main

if __name__ == "__main__":
    sys.exit(extract_main())
