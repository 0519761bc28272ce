"""Cartridge core: everything that knows dbt, SQL and warehouses. Never imports pygls."""

__version__ = "0.1.0"
