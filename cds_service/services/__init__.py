"""One module per CDS service; each declares its id, its hook and which drafts it judges."""

from __future__ import annotations

from types import ModuleType

from cds_service.services import order_select, order_sign, patient_view

MODULES: tuple[ModuleType, ...] = (order_select, order_sign, patient_view)
