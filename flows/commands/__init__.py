"""CLI command groups; each module has ``register(app)`` adding its commands.

``flows.cli`` imports the modules listed in ``MODULES`` in order, so each area
(ingest, rating, export, operations) owns one file and nothing else.
"""

MODULES = (
    "rebill.flows.commands.core",
    "rebill.flows.commands.rating",
    "rebill.flows.commands.export",
    "rebill.flows.commands.report",
    "rebill.flows.commands.operations",
)
