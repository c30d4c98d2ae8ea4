"""DigitalOcean invoices (pydo) as daily FOCUS rows."""
