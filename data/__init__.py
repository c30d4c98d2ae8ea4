"""rebill.data: the sample data and demo configuration shipped with rebill.

Read them through :data:`DATA` (a folder on disk in a wheel, a source
checkout or an editable install); see ``samples/README.md`` for provenance.
"""

from pathlib import Path

DATA = Path(__file__).resolve().parent
DEMO = DATA / "demo"
SAMPLES = DATA / "samples"
