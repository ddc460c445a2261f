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
