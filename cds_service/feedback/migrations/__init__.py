"""Alembic migrations for the feedback store, run programmatically by FeedbackStore.migrate()."""
