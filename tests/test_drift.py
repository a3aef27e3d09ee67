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


def test_window_counts_match_a_recount_of_the_window() -> None:
    """The incremental fill counts and value runs equal what a recount of the window gives."""
    import random

    rng = random.Random(7)
    monitor = DriftMonitor(window=15)
    stats = monitor.stats(T)
    for n in range(300):
        one = item(
            rng.randrange(4),
            price=rng.choice([None, "", 5, 5.0, [1, 2]]),
            sku=rng.choice([None, "S1", "S1", "S2"]),
        )
        stats.add(one)
        recent = list(stats.recent)
        for name in ("name", "price", "sku", "availability"):
            want = sum(1 for i in recent if i.get(name) not in (None, "", []))
            assert stats.filled.get(name, 0) == want, (n, name)
            run = 0
            for i in reversed(recent):
                value = i.get(name)
                if value in (None, "", []) or (
                    run and (type(value), value) != (type(recent[-1][name]), recent[-1][name])
                ):
                    break
                run += 1
            assert min(stats.runs.get(name, (None, 0))[1], len(recent)) == run, (n, name)


def test_items_changed_by_the_caller_later_do_not_upset_the_counts() -> None:
    monitor = DriftMonitor(window=5)
    monitor.set_baseline(T, [item(i) for i in range(5)])
    for i in range(20):
        one = item(i)
        monitor.observe(T, f"p{i}", one, [])
        one["_url"] = f"p{i}"  # a caller annotating the item it got back
        one.pop("price")
    stats = monitor.stats(T)
    assert stats.filled["price"] == 5 and "_url" not in stats.filled
