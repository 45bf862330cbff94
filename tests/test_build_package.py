"""The build package's drawings and tables (wphil.lab.schematic_sheets, build_package): no two
labels of a drawing overlap, every pin of every chip is drawn with its net, the supply limits
cover the datasheet-maximum loads, the placement plan fits the breadboards bought."""

from __future__ import annotations

import itertools

import pytest

from wphil.drivers.bench_files import load_bench
from wphil.lab.build import parts_list
from wphil.lab.build_package import (
    BOARD_ROWS,
    I2C_MIN_PULLUP_OHMS,
    placement,
    pullup_note,
    supply_rows,
)
from wphil.lab.components_analog import bench_netlist

BENCHES = ["xor-2-2-1", "parity4", "iris", "delayed-xor", "oscillator-2"]


def _label_boxes(drawing) -> list[tuple[str, object]]:
    """Every text of a drawing with its extent in pixels, laid out as `save` lays it out."""
    import matplotlib.text

    drawing.draw(show=False)
    fig = drawing.fig.getfig()
    fig.subplots_adjust(0, 0, 1, 1)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [(t.get_text(), t.get_window_extent(renderer)) for t in fig.findobj(matplotlib.text.Text)
            if t.get_visible() and t.get_text().strip()]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["xor-2-2-1", "delayed-xor"])
def test_no_two_labels_overlap_on_any_drawing(name: str) -> None:
    pytest.importorskip("schemdraw")
    from wphil.lab.schematic import drawings

    for stem, drawing in drawings(load_bench(name)).items():
        boxes = _label_boxes(drawing)
        assert len(boxes) > 40, stem
        clashes = [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
                   if box_a.overlaps(box_b)]
        assert clashes == [], f"{stem}: {clashes[:5]}"


def test_the_sheets_label_every_chip_pin_with_its_net_or_nc() -> None:
    pytest.importorskip("schemdraw")
    from wphil.lab.schematic import drawings

    bench = load_bench("xor-2-2-1")
    texts = {stem: [t for t, _ in _label_boxes(d)] for stem, d in drawings(bench).items()
             if stem == "sheet-power"}["sheet-power"]
    pico = bench_netlist(bench).by_ref()["Pico"]
    assert texts.count("nc") >= len(pico.unused)
    for net in ("SDA", "SCL", "3V3", "ADC_VREF", "ADC0", "ADC1", "ADC2", "REF1024", "W8"):
        assert net in texts, net
    # the header's pin numbers, 1..40, and the DACs' 1..10
    assert {str(p) for p in range(1, 41)} <= set(texts)


@pytest.mark.parametrize("name", BENCHES)
def test_each_rail_current_limit_covers_its_datasheet_maximum_load(name: str) -> None:
    bench = load_bench(name)
    for rail in supply_rows(bench, bench_netlist(bench)):
        assert 0 < rail["load_max_mA"] <= rail["limit_mA"], rail


@pytest.mark.parametrize("name", BENCHES)
def test_the_placement_plan_fits_the_breadboards_of_the_parts_list(name: str) -> None:
    bench = load_bench(name)
    plan = placement(bench_netlist(bench))
    chips = [c.ref for c in bench_netlist(bench).components
             if c.lib not in ("Device", "Diode", "Connector") or c.ref.startswith("RV")]
    assert [p.ref for p in plan] == chips     # every chip and offset trimmer, in build order
    assert all(1 <= p.first_row <= p.last_row <= BOARD_ROWS for p in plan)
    boards = {p.ref: p.qty for p in parts_list(bench)}["BB"]
    assert max(p.board for p in plan) <= boards
    rows = sorted((p.board, p.first_row, p.last_row) for p in plan)
    assert all(a[0] != b[0] or a[2] < b[1] for a, b in zip(rows, rows[1:]))   # no two share a row


def test_the_pullup_note_counts_the_breakouts_own_pullups() -> None:
    note = pullup_note(load_bench("iris"))                   # 8 DAC chips
    # 4.7k || 8 x 10k = 4.7k || 1.25k = 0.99k: just above the 0.97k the I2C sink allows
    assert "4.7k || 8 x 10k = 0.99k (fine" in note
    assert I2C_MIN_PULLUP_OHMS == pytest.approx(966.7, abs=0.1)
