"""Map the repository's top-level stage folders onto one installed ``rebill`` package.

The repository keeps one folder per stage (``connectors/``, ``normalize/``,
``rating/``, ``exporters/``, ``flows/``), the core in ``core/`` and the bundled
samples in ``data/``; installed, they are ``rebill.<stage>``, ``rebill`` and
``rebill.data``. The wheel holds ``rebill/`` only. Everything else is in
pyproject.toml.
"""

from pathlib import Path

from setuptools import setup

FOLDERS = {"rebill": "core", "rebill.data": "data",
           **{f"rebill.{stage}": stage for stage in
              ("connectors", "normalize", "rating", "exporters", "flows")}}


def packages() -> list[str]:
    """Every folder with an ``__init__.py`` below a mapped folder, as a dotted name."""
    found = []
    for name, folder in FOLDERS.items():
        for init in sorted(Path(folder).rglob("__init__.py")):
            rel = init.parent.relative_to(folder).parts
            found.append(".".join((name, *rel)))
    return found


setup(package_dir=FOLDERS, packages=packages())
