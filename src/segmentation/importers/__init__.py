"""Importers that map public data sets onto the raw data contract."""
