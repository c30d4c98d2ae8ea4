"""Linode invoices (linode_api4) as daily FOCUS rows."""
