"""The built-in engine's catalog of models to download, with the one this machine suits."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from ...chat.views import catalog_entry_view
from ...local import catalog
from .. import services

bp = Blueprint("catalog", __name__)


@bp.get("/api/local/catalog")
def catalog_list() -> ResponseReturnValue:
    ram = catalog.machine_ram()
    best = catalog.recommended(ram)
    downloads = services().hub_downloads
    models = []
    for entry in catalog.CATALOG:
        downloaded, partial = downloads.catalog_state(entry)
        models.append(catalog_entry_view(
            entry, downloaded=downloaded, partial=partial, recommended=entry is best))
    return {"ram": ram, "recommended": best.id if best else None, "models": models}
