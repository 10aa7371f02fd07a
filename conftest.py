"""Root pytest configuration: applies to tests/ and to the notebooks checked by nbval."""


def pytest_collectstart(collector):
    # nbval: stderr holds library warnings that differ between versions; do not compare it.
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
