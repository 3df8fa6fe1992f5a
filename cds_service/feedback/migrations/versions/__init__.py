"""Alembic revision scripts for the feedback store."""
