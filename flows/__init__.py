"""flows: Prefect flows, schedules and the ``rebill`` CLI that drive the stages."""
