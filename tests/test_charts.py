"""Server-drawn charts can be read without colour: every series has its own shape, line
pattern and legend text, and a suppressed point says which series it belongs to."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from web.charts import Series, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"
NAMES = ["Interviews requested", "Interviews held", "No-show", "Cancelled"]


def _shape(element: ET.Element) -> str:
    """A marker's shape, whatever its colour: the element, and a polygon's corner count."""
    tag = element.tag.removeprefix(SVG)
    return f"polygon{len(element.get('points', '').split())}" if tag == "polygon" else tag


def _series(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    return {g.get("data-series", ""): g for g in root.iter(f"{SVG}g") if g.get("class") == "series"}


def test_each_series_has_its_own_marker_line_pattern_and_legend() -> None:
    series = [Series(name, [10 + i, 20 + i, 30 + i]) for i, name in enumerate(NAMES)]
    svg = line_chart("c", "Interviews", "c-table", ["2026-01", "2026-02", "2026-03"], series)
    groups = _series(svg)
    assert list(groups) == NAMES
    legends = [[t.text for t in g.iter(f"{SVG}text") if t.get("class") == "legend"]
               for g in groups.values()]  # fmt: skip
    assert legends == [[name] for name in NAMES]
    shapes = []
    for group in groups.values():
        markers = {_shape(e) for e in group if e.tag.removeprefix(SVG) != "text"} - {"polyline"}
        assert len(markers) == 1, markers  # one shape throughout the series
        shapes.append(markers.pop())
    assert len(set(shapes)) == len(NAMES)
    lines = [line for group in groups.values() for line in group.iter(f"{SVG}polyline")]
    assert len(lines) == len(NAMES)
    dashes = [line.get("stroke-dasharray") for line in lines]
    assert len(set(dashes)) == len(NAMES)


def test_points_hidden_in_the_same_month_are_told_apart() -> None:
    values = {"Interviews requested": [12, 9], "Interviews held": [8, None],
              "No-show": [None, None], "Cancelled": [0, None]}  # fmt: skip
    svg = line_chart("c", "Interviews", "c-table", ["2026-01", "2026-02"],
                     [Series(name, v) for name, v in values.items()])  # fmt: skip
    groups = _series(svg)
    places = []
    for name, group in groups.items():
        hidden = [t for t in group.iter(f"{SVG}text") if t.get("class") == "suppressed"]
        assert [t.text for t in hidden] == ["<5"] * values[name].count(None), name
        places += [(t.get("x"), t.get("y")) for t in hidden]
        # each "<5" comes after a hollow marker of the series' own shape
        hollow = [e for e in group if e.get("fill") == "none" and e.tag != f"{SVG}polyline"]
        assert len(hollow) == len(hidden), name
        filled = {_shape(e) for e in group if e.get("fill") not in ("none", None)}
        assert {_shape(e) for e in hollow} <= filled, name
    assert len(places) == 4 and len(set(places)) == 4  # three in February, none on another


def test_bars_carry_their_value_as_text_and_hidden_ones_say_so() -> None:
    root = ET.fromstring(bar_chart("b", "Cases", "b-table", ["Mexico", "Guatemala"], [12, None]))
    texts = [(t.get("class"), t.text) for t in root.iter(f"{SVG}text")]
    assert ("value", "12") in texts and ("suppressed", "<5") in texts
