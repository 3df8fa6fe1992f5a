"""Card building (findings -> CDS Hooks 2.0 cards) and the output profiles that adapt those cards
to one client (``cards.profiles``). Import the submodules directly; this package imports nothing,
so that ``card_ids`` stays importable from the feedback store without a cycle."""
