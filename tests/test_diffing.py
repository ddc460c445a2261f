from strategy.diffing import Piece, has_changes, word_diff


def test_joining_the_pieces_gives_back_both_texts():
    old = "Stärkere Beteiligung von MO.\n- Punkt eins\n- Punkt zwei"
    new = "Deutlich stärkere Beteiligung von MO und Neuzuwander*innen.\n- Punkt eins\n- Punkt drei"
    pieces = word_diff(old, new)
    assert "".join(p.text for p in pieces if p.op != "insert") == old
    assert "".join(p.text for p in pieces if p.op != "delete") == new


def test_a_changed_word_is_deleted_then_inserted():
    assert word_diff("Die Vision ist gut", "Die Vision ist besser") == [
        Piece("equal", "Die Vision ist "), Piece("delete", "gut"), Piece("insert", "besser"),
    ]


def test_equal_texts_have_no_changes():
    assert not has_changes(word_diff("gleich", "gleich"))
    assert has_changes(word_diff("", "neu"))


# --- one renderer, one set of labels -------------------------------------------------------------

def test_pages_and_pdfs_render_word_diffs_through_the_one_macro():
    """No template walks diff pieces itself: history, comparison, review and the change-report PDF all
    import templates/_diff.html."""
    from pathlib import Path

    templates = Path(__file__).resolve().parent.parent / "templates"
    walking = [path.relative_to(templates).as_posix() for path in templates.rglob("*.html")
               if "piece.op" in path.read_text(encoding="utf-8")]
    assert walking == ["_diff.html"]


def test_the_diff_macro_speaks_its_markers_on_pages_and_leaves_them_to_the_pdf_stylesheet(app):
    pieces = word_diff("Die Vision ist gut", "Die Vision ist besser")
    with app.test_request_context():
        macros = app.jinja_env.get_template("_diff.html").module
        page, inline, pdf = (str(macros.diff(pieces)), str(macros.diff(pieces, inline=True)),
                             str(macros.diff(pieces, spoken=False)))
    assert page == ('<div class="diff">Die Vision ist <del><span class="visually-hidden">[entfernt: </span>gut'
                    '<span class="visually-hidden">]</span></del><ins><span class="visually-hidden">[eingefügt: '
                    '</span>besser<span class="visually-hidden">]</span></ins></div>')
    assert inline.startswith('<span class="diff-inline">Die Vision ist <del>') and inline.endswith("</span>")
    assert pdf == '<div class="diff">Die Vision ist <del>gut</del><ins>besser</ins></div>'


def test_every_snapshot_key_has_one_label_which_history_and_comparison_use(app):
    from strategy.comparison import column_changes
    from strategy.fields.history import diff_snapshots
    from strategy.framework import SNAPSHOT_KEY_LABELS, TEXT_COLUMNS, key_label
    from strategy.snapshots import STRUCTURE_KEYS

    assert set(STRUCTURE_KEYS) | set(TEXT_COLUMNS) <= set(SNAPSHOT_KEY_LABELS)
    with app.test_request_context():
        assert key_label("financing_items") == "Finanzierungsposten"
        assert key_label("financing_notes") == "Finanzierung (Text)"
        before, after = {"financing_notes": "alt", "title": "A"}, {"financing_notes": "neu", "title": "B"}
        assert [(d.key, d.label) for d in diff_snapshots(before, after)] == [
            ("financing_notes", "Finanzierung (Text)"), ("title", "Titel")]
        assert [(c.key, str(c.label)) for c in column_changes(before, after)] == [
            ("title", "Titel"), ("financing_notes", "Finanzierung (Text)")]
