"""Registering and finding vendors."""

import re

from sqlmodel import Session, select

from agreements.models import Vendor
from kernel.errors import InvalidInput, NotFound

VENDOR_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")


def add_vendor(session: Session, *, vendor_id: str, name: str) -> Vendor:
    """Register a vendor; its id is the handle used in every command and path."""
    if not VENDOR_ID.fullmatch(vendor_id):
        raise InvalidInput(
            f"vendor id {vendor_id!r} is not allowed: use 2-64 lowercase letters, digits, "
            "'-' or '_', starting with a letter or digit (e.g. nccer, pearson-vue)"
        )
    if not name.strip():
        raise InvalidInput("vendor name must not be empty")
    if session.get(Vendor, vendor_id) is not None:
        raise InvalidInput(f"vendor {vendor_id!r} is already registered")
    vendor = Vendor(id=vendor_id, name=name.strip())
    session.add(vendor)
    session.flush()
    return vendor


def get_vendor(session: Session, vendor_id: str) -> Vendor:
    vendor = session.get(Vendor, vendor_id)
    if vendor is None:
        raise NotFound(
            f"unknown vendor {vendor_id!r}: register the vendor first",
            hint=f"`credx vendors add {vendor_id} --name NAME` (see `credx vendors list`)",
        )
    return vendor


def list_vendors(session: Session) -> list[Vendor]:
    return list(session.exec(select(Vendor).order_by(Vendor.id)))
