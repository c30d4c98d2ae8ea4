"""CLI command groups; each module has ``register(app)`` adding its commands.

``flows.cli`` imports the modules listed in ``MODULES`` in order, so each area
(ingest, rating, export, operations) owns one file and nothing else.
"""

MODULES = (
    "flows.commands.core",
    "flows.commands.rating",
    "flows.commands.export",
    "flows.commands.report",
    "flows.commands.operations",
)
