import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from strategy.extensions import db
from strategy.models import Field, FinancingItem, FundingSource, NextStep, Responsibility, Strategy, Visibility


def test_several_strategies_live_side_by_side(make):
    first = make.strategy(fields=13)
    second = make.strategy(fields=5, visibility=Visibility.INTERNAL)
    assert len(first.fields) == 13
    assert len(second.fields) == 5
    assert {f.strategy_id for f in second.fields} == {second.id}


def test_field_numbers_are_unique_within_a_strategy(make):
    strategy = make.strategy(fields=2)
    db.session.add(Field(strategy=strategy, number=2, title="Doppelt"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_foreign_keys_are_enforced(make):
    make.strategy(fields=1)
    db.session.add(Field(strategy_id=999_999, number=1, title="Ohne Strategie"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_responsibility_must_name_someone(make):
    strategy = make.strategy(fields=1)
    db.session.add(Responsibility(field=strategy.fields[0]))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_financing_period_must_not_end_before_it_starts(make):
    from datetime import date

    strategy = make.strategy(fields=1)
    db.session.add(FinancingItem(field=strategy.fields[0], source=FundingSource.ESF_PLUS,
                                 start_date=date(2026, 5, 1), end_date=date(2026, 1, 1)))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_saving_a_stale_version_of_a_next_step_fails(app, make):
    strategy = make.strategy(fields=1)
    step = NextStep(field=strategy.fields[0], description="Erster Entwurf")
    db.session.add(step)
    db.session.commit()
    other = sa.orm.Session(db.engine)
    theirs = other.get(NextStep, step.id)
    step.description = "Unsere Fassung"
    db.session.commit()
    theirs.description = "Ihre Fassung"
    with pytest.raises(StaleDataError):
        other.commit()
    other.close()
    db.session.expire_all()
    assert db.session.get(NextStep, step.id).description == "Unsere Fassung"


def test_sqlite_runs_with_wal_and_foreign_keys(app, backend):
    if backend != "sqlite":
        pytest.skip("SQLite pragmas")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_archived_fields_leave_the_live_framework(make):
    strategy = make.strategy(fields=3)
    strategy.fields[1].is_archived = True
    db.session.commit()
    db.session.expire_all()
    strategy = db.session.get(Strategy, strategy.id)
    assert [f.number for f in strategy.fields] == [1, 3]
    assert len(strategy.all_fields) == 3
