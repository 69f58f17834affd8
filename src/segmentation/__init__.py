"""customer_segmentation: data generator, importers and tooling around the dbt project."""

__version__ = "0.1.0"
