"""connectors: one folder per cost source behind one small interface (see ``base``)."""
