"""Dortmund's Gesamtstrategie Neuzuwanderung as demo data, from the project's own copy of the goal system.

Loading is idempotent: everything is looked up by its natural key first, and nothing that exists is touched.
"""
from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from importlib import resources

from .auth.passwords import hash_password
from .demo_partners import ensure_partner_strategy
from .extensions import db
from .fields.services import load_field_row
from .models import (
    Field,
    FieldAssignment,
    FieldPhase,
    Indicator,
    IndicatorUnit,
    IndicatorValue,
    Membership,
    Milestone,
    NextStep,
    Organisation,
    OrganisationKind,
    Person,
    Responsibility,
    ResponsibilityRole,
    ReviewState,
    Revision,
    RevisionKind,
    Role,
    Strategy,
    User,
    Visibility,
    WorkingGroup,
    utcnow,
)
from .snapshots import changed_keys, field_snapshot

DEMO_SLUG = "dortmund-neuzuwanderung"
DEMO_PASSWORD = "Demo-Zugang-2026"

# (name, short name, kind): the partners named in the source, with the kind the glossary gives them.
ORGANISATIONS = [
    ("Stadt Dortmund – Strategische Sozialplanung", "Stadt Dortmund (SSP)", OrganisationKind.CITY),
    ("Agentur für Arbeit Dortmund", "Agentur für Arbeit", OrganisationKind.AGENCY),
    ("Jobcenter Dortmund", "Jobcenter", OrganisationKind.JOBCENTRE),
    ("Trägerverbund ‚Willkommen Europa‘", "Willkommen Europa", OrganisationKind.WELFARE),
    ("MigraDo", "MigraDo", OrganisationKind.WELFARE),
    ("MIA-DO-KI – Kommunales Integrationszentrum Dortmund", "MIA-DO-KI", OrganisationKind.CITY),
    ("VMDO – Verbund der sozial-kulturellen Migrantenvereine Dortmund", "VMDO", OrganisationKind.MIGRANT_ORG),
    ("Romano Than", "Romano Than", OrganisationKind.MIGRANT_ORG),
    ("Clearingstelle Gesundheit", "Clearingstelle Gesundheit", OrganisationKind.WELFARE),
    ("Viertelwerk gGmbH", "Viertelwerk", OrganisationKind.WELFARE),
    ("EU-Gleichbehandlungsstelle", "EU-Gleichbehandlungsstelle", OrganisationKind.OTHER),
]

# email, name, role, fields coordinated, person name, organisation short name
DEMO_ACCOUNTS = [
    ("admin@demo.dortmund.example", "Demo-Administration", None, (), None, "Stadt Dortmund (SSP)"),
    ("lenkung@demo.dortmund.example", "Koordinierungsgruppe (Demo)", Role.STEERING, (), None, "Stadt Dortmund (SSP)"),
    ("hf4@demo.dortmund.example", "Güntürk", Role.COORDINATOR, (4,), "Güntürk", "MIA-DO-KI"),
    ("hf11@demo.dortmund.example", "Koordination Arbeit (Demo)", Role.COORDINATOR, (9, 11), None, "Jobcenter"),
    ("partner@demo.dortmund.example", "Agentur für Arbeit (Demo)", Role.PARTNER, (), None, "Agentur für Arbeit"),
]

INDICATOR_AS_OF = date(2025, 12, 31)


def reference_data() -> dict:
    return json.loads(resources.files("strategy").joinpath("demo_data/zielsystem-dortmund.json").read_text("utf-8"))


def load_demo() -> bool:
    """Load the demo strategy and accounts; returns False when they were already there."""
    if db.session.scalar(db.select(Strategy).filter_by(slug=DEMO_SLUG)) is not None:
        _ensure_accounts()
        ensure_partner_strategy()
        db.session.commit()
        return False
    data = reference_data()
    organisations = _ensure_organisations()
    strategy = Strategy(
        slug=DEMO_SLUG,
        title=data["strategy"]["title"],
        subtitle=data["strategy"]["subtitle"],
        framework_title=data["strategy"]["framework_title"],
        description=(
            "Organisationenübergreifend entwickeltes Zielsystem mit 13 Zielen und dem gemeinsamen "
            "Handlungsrahmen von Stadt, Agentur für Arbeit, Jobcenter, Trägern, Ehrenamt und "
            "Migrant*innenorganisationen."
        ),
        owner=organisations["Stadt Dortmund (SSP)"],
        visibility=Visibility.PUBLIC,
    )
    db.session.add(strategy)
    for item in data["timeline_named_in_source"]:
        strategy.milestones.append(Milestone(year=item["year"], event=item["event"]))

    rows = {row["goal_number"]: row for row in data["example_rows"]}
    fields: dict[int, Field] = {}
    for goal in data["goals"]:
        field = Field(strategy=strategy, number=goal["number"], title=goal["title"], goal_text=goal["goal"])
        db.session.add(field)
        row = rows.get(goal["number"])
        if row:
            _fill_row(field, row, organisations)
        fields[field.number] = field

    _add_indicators(fields[data["indicators_named_in_source"]["goal_number"]], data["indicators_named_in_source"])
    db.session.flush()
    now = utcnow()
    for field in fields.values():
        snapshot = field_snapshot(load_field_row(field.id))
        # The conference material is the agreed state: it is what partners and the public see.
        field.review_state = ReviewState.APPROVED
        field.approved_content = snapshot
        field.approved_at = now
        db.session.add(
            Revision(field=field, kind=RevisionKind.CREATE, author_name="Datenimport (Demo)",
                     summary_key="demo_loaded", summary="Zielsystem Dortmund geladen", changed_columns=changed_keys(None, snapshot),
                     content=snapshot)
        )
    _ensure_accounts()
    ensure_partner_strategy()
    db.session.commit()
    return True


def _ensure_organisations() -> dict[str, Organisation]:
    by_short: dict[str, Organisation] = {}
    for name, short, kind in ORGANISATIONS:
        org = db.session.scalar(db.select(Organisation).filter_by(name=name))
        if org is None:
            org = Organisation(name=name, short_name=short, kind=kind)
            db.session.add(org)
        by_short[short] = org
    return by_short


def _person(name: str, organisation: Organisation | None) -> Person:
    person = db.session.scalar(db.select(Person).filter_by(name=name))
    if person is None:
        person = Person(name=name, organisation=organisation)
        db.session.add(person)
    return person


_RESPONSIBLE = re.compile(r"^(?P<name>[^()]+?)\s*\((?P<org>[^)]+)\)$")


def _fill_row(field: Field, row: dict, organisations: dict[str, Organisation]) -> None:
    for position, name in enumerate(row["working_groups"]):
        field.working_groups.append(WorkingGroup(name=name, position=position))
    for position, label in enumerate(row["responsible"]):
        match = _RESPONSIBLE.match(label)
        org = organisations.get(match["org"]) if match else None
        person = _person(match["name"] if match else label, org)
        field.responsibilities.append(
            Responsibility(person=person, organisation=org, role=ResponsibilityRole.LEAD, position=position)
        )
    for column in ("current_state", "central_processes", "vision", "strategic_goals", "future_challenges",
                   "what_worked", "gaps"):
        setattr(field, column, row.get(column, ""))
    field.financing_notes = row.get("financing", "")
    for position, line in enumerate(_bullets(row.get("next_steps", ""))):
        field.next_steps.append(NextStep(description=line, position=position))
    filled = [row.get(c) for c in ("vision", "strategic_goals", "future_challenges", "what_worked", "gaps")]
    field.phase = FieldPhase.WORKSHOP_2 if all(filled) else FieldPhase.PREPARATION


def _bullets(text: str) -> list[str]:
    return [line.lstrip("- ").strip() for line in text.splitlines() if line.strip()]


def _add_indicators(field: Field, source: dict) -> None:
    note = f"{source['context']}; Stand 12/2025"
    for position, figure in enumerate(source["figures"]):
        indicator = Indicator(
            name=figure["label"], unit=IndicatorUnit.COUNT, position=position, is_key=(position == 0),
            description=source["context"] if position == 0 else "",
        )
        if position == 0:
            indicator.baseline = Decimal(0)  # the model project started from zero participants in 05/2024
        indicator.values.append(IndicatorValue(observed_on=INDICATOR_AS_OF, value=Decimal(figure["value"]),
                                               source_note=note))
        field.indicators.append(indicator)
        if "share_percent" in figure:
            share = Indicator(name=f"{figure['label']} (Anteil)", unit=IndicatorUnit.PERCENT, position=position)
            share.values.append(IndicatorValue(observed_on=INDICATOR_AS_OF,
                                               value=Decimal(str(figure["share_percent"])), source_note=note))
            field.indicators.append(share)


def _ensure_accounts() -> None:
    strategy = db.session.scalar(db.select(Strategy).filter_by(slug=DEMO_SLUG))
    organisations = _ensure_organisations()
    for email, name, role, field_numbers, person_name, org_short in DEMO_ACCOUNTS:
        if db.session.scalar(db.select(User).filter_by(email=email)) is not None:
            continue
        user = User(email=email, name=name, password_hash=hash_password(DEMO_PASSWORD), is_admin=role is None)
        if person_name:
            user.person = _person(person_name, organisations.get(org_short))
        db.session.add(user)
        if role is not None and strategy is not None:
            user.memberships.append(Membership(strategy=strategy, role=role))
            for number in field_numbers:
                field = db.session.scalar(db.select(Field).filter_by(strategy_id=strategy.id, number=number))
                user.assignments.append(FieldAssignment(field=field))
