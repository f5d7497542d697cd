"""Export a checkpoint to ONNX (fp32 + int8): python scripts/export_onnx.py --checkpoint DIR

Runs the installed package (``make install`` or ``pip install -e .`` installs this checkout into .venv).
"""

import sys

from model.cli import export_main

if __name__ == "__main__":
    sys.exit(export_main())
