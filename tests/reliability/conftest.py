import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/reliability" in str(item.fspath):
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(scope="session")
def ensemble_pair(tmp_path_factory):
    """Two exported light oracles (tests/onnx_models.py): enough for autolabel's two-model rule."""
    from onnx_models import export_oracle

    folder = tmp_path_factory.mktemp("ensemble")
    return [export_oracle(folder / "sharp.onnx", 12.0), export_oracle(folder / "soft.onnx", 4.0, name="soft")]
