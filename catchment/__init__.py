"""catchment package."""
