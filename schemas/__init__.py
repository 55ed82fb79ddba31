"""Pandera schemas for what credx accepts, and the credential-code registry."""
