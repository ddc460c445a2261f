from strategy.demo import DEMO_SLUG, load_demo, reference_data
from strategy.extensions import db
from strategy.models import Field, FieldPhase, Indicator, NextStep, Organisation, Revision, Strategy, User


def _counts():
    return {model.__name__: db.session.scalar(db.select(db.func.count()).select_from(model))
            for model in (Strategy, Field, Organisation, User, NextStep, Indicator, Revision)}


def test_demo_has_the_13_goals_in_order(demo):
    fields = demo.fields
    assert [f.number for f in fields] == list(range(1, 14))
    goals = reference_data()["goals"]
    assert [f.title for f in fields] == [g["title"] for g in goals]
    assert fields[10].goal_text.startswith("Neuzuwander*innen in Dortmund gelangen")


def test_demo_loads_the_example_rows(demo):
    field4 = db.session.scalar(db.select(Field).filter_by(strategy_id=demo.id, number=4))
    assert field4.vision.startswith("Stärkere Beteiligung/Teilhabe/Akzeptanz")
    assert [wg.name for wg in field4.working_groups] == ["FG Einbindung von MO und Neuzuwander*innen"]
    assert [r.label for r in field4.responsibilities] == ["Güntürk (MIA-DO-KI)", "Altundal-Köse (VMDO)"]
    assert len(field4.next_steps) == 2
    assert field4.phase == FieldPhase.WORKSHOP_2
    field9 = db.session.scalar(db.select(Field).filter_by(strategy_id=demo.id, number=9))
    assert field9.current_state == "Neukonstituierung der FG."
    assert len(field9.working_groups) == 2
    assert field9.vision == ""


def test_demo_loads_field_11_indicators(demo):
    field11 = db.session.scalar(db.select(Field).filter_by(strategy_id=demo.id, number=11))
    names = {i.name: i for i in field11.indicators}
    participants = names["Teilnehmende im Modellvorhaben"]
    assert participants.is_key
    assert [int(v.value) for v in participants.values] == [222]
    assert "Stand 12/2025" in participants.values[0].source_note


def test_loading_the_demo_twice_changes_nothing(app):
    assert load_demo() is True
    before = _counts()
    assert load_demo() is False
    assert _counts() == before


def test_load_demo_command_is_idempotent(runner):
    first = runner.invoke(args=["load-demo"])
    second = runner.invoke(args=["load-demo"])
    assert first.exit_code == 0 and "geladen" in first.output
    assert second.exit_code == 0 and "nichts geändert" in second.output
    assert db.session.scalar(db.select(db.func.count()).select_from(Strategy).filter_by(slug=DEMO_SLUG)) == 1


def test_the_app_ships_its_own_copy_of_the_reference_data():
    import strategy

    assert reference_data()["strategy"]["title"] == "Gesamtstrategie Neuzuwanderung"
    from pathlib import Path

    package = Path(strategy.__file__).parent
    for module in package.rglob("*.py"):
        assert "shared/reference" not in module.read_text(encoding="utf-8"), module

