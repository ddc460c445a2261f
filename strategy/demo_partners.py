"""A second, small demo strategy that only partners read: shows several strategies per installation,
roles per strategy, and status pages with due and overdue steps, ending funding and an indicator series.

Idempotent like strategy.demo: looked up by slug; memberships are added when missing, nothing else touched.
Dates are relative to the day of loading, so a fresh demo always has something due and something overdue.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from .days import local_today
from .extensions import db
from .fields.services import load_field_row
from .models import (
    Field,
    FieldPhase,
    FinancingItem,
    FundingSource,
    FundingStatus,
    Indicator,
    IndicatorUnit,
    IndicatorValue,
    Membership,
    NextStep,
    Organisation,
    ReviewState,
    Revision,
    RevisionKind,
    Role,
    StepStatus,
    Strategy,
    User,
    Visibility,
    utcnow,
)
from .snapshots import changed_keys, field_snapshot

PARTNER_SLUG = "arbeitsmarkt-partnerkreis"

# email → role in this strategy (accounts come from strategy.demo.DEMO_ACCOUNTS)
ROLES = {
    "lenkung@demo.dortmund.example": Role.STEERING,
    "hf11@demo.dortmund.example": Role.COORDINATOR,
    "partner@demo.dortmund.example": Role.PARTNER,
}


def ensure_partner_strategy(today: date | None = None) -> None:
    """Create the partners-only strategy once; make sure the demo accounts have their roles in it."""
    strategy = db.session.scalar(db.select(Strategy).filter_by(slug=PARTNER_SLUG))
    if strategy is None:
        strategy = _create(today or local_today())
    for email, role in ROLES.items():
        user = db.session.scalar(db.select(User).filter_by(email=email))
        if user is not None and not any(m.strategy_id == strategy.id for m in user.memberships):
            user.memberships.append(Membership(strategy=strategy, role=role))


def _create(today: date) -> Strategy:
    owner = db.session.scalar(db.select(Organisation).filter_by(short_name="Jobcenter"))
    strategy = Strategy(
        slug=PARTNER_SLUG,
        title="Arbeitsmarktintegration Neuzugewanderter",
        subtitle="Gemeinsamer Arbeitsstand von Jobcenter, Agentur für Arbeit und Trägern (Partnerkreis)",
        description="Ein kleiner Handlungsrahmen, den nur die beteiligten Partner lesen.",
        owner=owner,
        visibility=Visibility.PARTNERS,
    )
    db.session.add(strategy)
    language = Field(
        strategy=strategy, number=1, title="Sprache und Qualifizierung", phase=FieldPhase.IMPLEMENTATION,
        goal_text="Neuzugewanderte erreichen schnell das Sprachniveau, das ihr Beruf verlangt.",
        current_state="Wartezeiten auf Berufssprachkurse von bis zu sechs Monaten.",
        strategic_goals="- Wartezeit unter acht Wochen\n- Kurse mit Kinderbetreuung in jedem Stadtbezirk",
        vision="Niemand wartet auf einen Sprachkurs.",
    )
    language.next_steps.extend([
        NextStep(description="Bedarfsabfrage bei den Kursträgern auswerten", due_date=today - timedelta(days=21),
                 status=StepStatus.PLANNED, position=0),
        NextStep(description="Kinderbetreuung für Abendkurse vereinbaren", due_date=today + timedelta(days=30),
                 status=StepStatus.IN_PROGRESS, position=1),
        NextStep(description="Zwischenbericht an den Lenkungskreis", due_date=today + timedelta(days=70),
                 status=StepStatus.PLANNED, position=2),
    ])
    language.financing_items.append(FinancingItem(
        source=FundingSource.ESF_PLUS, programme="Berufssprachkurse plus", amount=Decimal("480000"),
        start_date=today - timedelta(days=600), end_date=today + timedelta(days=120),
        status=FundingStatus.SECURED, has_follow_up=False, position=0))
    indicator = Indicator(name="Teilnehmende in Berufssprachkursen", unit=IndicatorUnit.COUNT, is_key=True,
                          baseline=Decimal(140), target=Decimal(400), position=0)
    for quarter, value in enumerate((140, 165, 190, 220, 240, 275, 300, 320)):
        observed = date(today.year - 2, 3, 31) + timedelta(days=91 * quarter)
        indicator.values.append(IndicatorValue(observed_on=observed, value=Decimal(value),
                                               source_note="Jobcenter Dortmund, Quartalsstatistik"))
    language.indicators.append(indicator)

    recognition = Field(
        strategy=strategy, number=2, title="Anerkennung von Abschlüssen", phase=FieldPhase.WORKSHOP_1,
        goal_text="Mitgebrachte Abschlüsse werden schnell geprüft und anerkannt.",
        strategic_goals="- Eine Anlaufstelle für alle Anerkennungsfragen",
    )
    recognition.financing_items.append(FinancingItem(
        source=FundingSource.STATE_NRW, programme="Anerkennungsberatung", amount=Decimal("95000"),
        start_date=today - timedelta(days=300), end_date=today + timedelta(days=300),
        status=FundingStatus.SECURED, has_follow_up=True, position=0))
    transition = Field(strategy=strategy, number=3, title="Übergang Schule – Beruf", phase=FieldPhase.PREPARATION,
                       goal_text="Junge Neuzugewanderte finden nach der Schule in Ausbildung oder Arbeit.")
    db.session.add_all([language, recognition, transition])
    db.session.flush()
    now = utcnow()
    for field in (language, recognition):  # field 3 is still a draft: nothing approved yet
        snapshot = field_snapshot(load_field_row(field.id))
        field.review_state = ReviewState.APPROVED
        field.approved_content = snapshot
        field.approved_at = now
        db.session.add(Revision(field=field, kind=RevisionKind.CREATE, author_name="Datenimport (Demo)",
                                summary_key="demo_partners_loaded", summary="Demo-Partnerstrategie geladen",
                                changed_columns=changed_keys(None, snapshot), content=snapshot))
    return strategy
