from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import str_enum

if TYPE_CHECKING:
    from .accounts import User


class OrganisationKind(enum.StrEnum):
    CITY = "city"
    AGENCY = "agency"  # Agentur für Arbeit
    JOBCENTRE = "jobcentre"
    WELFARE = "welfare"  # Träger, Wohlfahrtsverband
    MIGRANT_ORG = "migrant_org"  # MSO / MO
    VOLUNTEERS = "volunteers"
    OTHER = "other"

    @property
    def label(self):
        return ORGANISATION_KIND_LABELS[self]


ORGANISATION_KIND_LABELS = {
    OrganisationKind.CITY: _l("Stadtverwaltung"),
    OrganisationKind.AGENCY: _l("Agentur für Arbeit"),
    OrganisationKind.JOBCENTRE: _l("Jobcenter"),
    OrganisationKind.WELFARE: _l("Träger / Wohlfahrtsverband"),
    OrganisationKind.MIGRANT_ORG: _l("Migrant*innenorganisation (MSO/MO)"),
    OrganisationKind.VOLUNTEERS: _l("Ehrenamt"),
    OrganisationKind.OTHER: _l("Sonstige"),
}


def name_key(name: str | None) -> str:
    """The one form in which typed names of people and organisations are compared: runs of white space
    folded to one space, case folded ("  Jobcenter  DORTMUND" and "jobcenter dortmund" name the same one)."""
    return " ".join((name or "").split()).casefold()


class Organisation(db.Model):
    """A body that takes part: city office, agency, job centre, welfare or migrant organisation (Träger/MSO)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    short_name: Mapped[str | None] = mapped_column(sa.String(60))
    kind: Mapped[OrganisationKind] = mapped_column(str_enum(OrganisationKind), default=OrganisationKind.OTHER)

    people: Mapped[list[Person]] = relationship(back_populates="organisation")

    @property
    def label(self) -> str:
        return self.short_name or self.name

    def __repr__(self) -> str:
        return f"<Organisation {self.name!r}>"


class Person(db.Model):
    """Someone named in the framework; not every responsible person has an account."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id", ondelete="SET NULL"), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(254))
    # Deleting a person who appears in history keeps the row with a placeholder name (GDPR erasure).
    is_deleted: Mapped[bool] = mapped_column(default=False)

    organisation: Mapped[Organisation | None] = relationship(back_populates="people")
    user: Mapped[User | None] = relationship(back_populates="person")

    @property
    def label(self) -> str:
        if self.organisation is not None:
            return f"{self.name} ({self.organisation.label})"
        return self.name

    def __repr__(self) -> str:
        return f"<Person {self.name!r}>"
