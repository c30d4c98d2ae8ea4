"""rebill: multi-cloud bills to customer invoices.

The ``rebill`` package holds what every stage shares: the error tree, money
rounding, the configuration model, home layout and atomic file helpers.
"""

__version__ = "0.1.0"
