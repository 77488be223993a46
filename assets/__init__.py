"""Shipped models and lesson; a package only so that ``pip install .`` installs them as inflow_core.assets."""
