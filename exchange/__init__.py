"""Moving data in: sources, ingest pipeline, blob storage and encryption."""
