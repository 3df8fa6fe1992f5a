"""CDS Hooks 2.0 service for restless legs syndrome treatment (AASM 2024 guideline)."""

from cds_service.app import create_app

__all__ = ["create_app"]
