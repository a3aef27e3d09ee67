from __future__ import annotations

from crawler.drift import DriftMonitor

T = "shop.test/product"


def item(i: int, **over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": f"Widget {i}",
        "price": 10 + i,
        "sku": f"S{i}",
        "availability": "In stock" if i % 3 else "Out of stock",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def test_hard_failure_and_emptied_items_are_reported_once() -> None:
    monitor = DriftMonitor()
    monitor.set_baseline(T, [item(i) for i in range(5)])
    events = monitor.observe(T, "u1", {"sku": "S1"}, ["name: 'name' is a required property ($)"])
    assert {e.kind for e in events} == {"failure", "emptied"}
    assert (
        monitor.observe(T, "u2", {"sku": "S2"}, ["name: 'name' is a required property ($)"]) == []
    )
    monitor.reset(T)
    assert monitor.observe(T, "u3", {"sku": "S3"}, ["name: 'name' is a required property ($)"])


def test_layout_and_fill_rate_drift() -> None:
    monitor = DriftMonitor(window=10)
    monitor.set_baseline(T, [item(i) for i in range(5)])
    assert [e.kind for e in monitor.observe(T, "u", item(1), [], similarity=0.2)] == ["layout"]
    found = []
    for i in range(12):
        found += monitor.observe(T, f"p{i}", item(i, price=None), [])
    assert [(e.kind, e.field) for e in found] == [("fill_rate", "price")]


def test_constant_values_only_for_fields_that_varied() -> None:
    monitor = DriftMonitor(window=20, constant_after=8)
    monitor.set_baseline(T, [item(i) for i in range(5)])
    found = []
    for i in range(12):
        found += monitor.observe(T, f"p{i}", item(i), [])
    for i in range(12, 20):  # the name selector now hits the site's banner
        found += monitor.observe(
            T, f"p{i}", item(i, name="Shop Banner", availability="In stock"), []
        )
    assert [(e.kind, e.field) for e in found] == [("constant", "name")], (
        "a stock status repeats naturally"
    )
