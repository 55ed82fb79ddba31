"""Data-sharing agreements and their parties (vendors, states)."""
