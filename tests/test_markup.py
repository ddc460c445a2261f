from strategy.markup import plain_excerpt, render_markdown


def test_gender_stars_stay_stars_and_are_not_read_as_emphasis():
    html = str(render_markdown("Neuzuwander*innen, Multiplikator*innen und Partner*innen"))
    assert "<em>" not in html
    assert "Neuzuwander*innen, Multiplikator*innen und Partner*innen" in html


def test_bold_italic_lists_and_links_render():
    html = str(render_markdown("**fett** und *kursiv*\n\n- eins\n- zwei\n\n[Dortmund](https://www.dortmund.de)"))
    assert "<strong>fett</strong>" in html
    assert "<em>kursiv</em>" in html
    assert "<ul>" in html and "<li>eins</li>" in html
    assert '<a href="https://www.dortmund.de" rel="noopener noreferrer nofollow">Dortmund</a>' in html


def test_headings_and_images_are_not_part_of_markdown_lite():
    html = str(render_markdown("# Überschrift\n\n![Bild](https://example.org/x.png)"))
    assert "<h1" not in html
    assert "<img" not in html


def test_links_to_local_files_are_dropped():
    html = str(render_markdown("[geheim](file:///etc/passwd) [js](javascript:alert(1))"))
    assert "file:" not in html.split(">", 1)[0] and 'href="file:' not in html
    assert 'href="javascript:' not in html


def test_excerpt_cuts_on_a_word_boundary():
    assert plain_excerpt("eins zwei drei vier", 12) == "eins zwei …"
    assert plain_excerpt("kurz", 12) == "kurz"
