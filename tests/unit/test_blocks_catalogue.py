"""The block catalogue: contract keys, ordering, the editor's JSON, the disk cache."""

import json

from pipelines.blocks import Catalogue, catalogue
from pipelines.blocks import sklearn_blocks as skb
from pipelines.blocks.base import CATEGORIES, PORT_TYPES

CONTRACT_KEYS = (
    "dataset.builtin",
    "dataset.upload",
    "data.split",
    "model.train",
    "model.evaluate",
    "model.predict",
    "sklearn.preprocessing.StandardScaler",
    "sklearn.ensemble.RandomForestClassifier",
)


def test_catalogue_contains_the_contract_keys():
    missing = [key for key in CONTRACT_KEYS if key not in catalogue()]
    assert missing == []


def test_catalogue_has_more_than_150_sklearn_blocks():
    assert sum(block.key.startswith("sklearn.") for block in catalogue()) > 150


def test_catalogue_is_built_once_per_process():
    assert catalogue() is catalogue()


def test_get_returns_none_for_an_unknown_key():
    assert catalogue().get("sklearn.nothing.Here") is None


def test_as_list_puts_curated_blocks_first():
    curated = [entry["curated"] for entry in catalogue().as_list()]
    assert curated == sorted(curated, reverse=True)


def test_as_list_orders_curated_blocks_by_category():
    order = [
        CATEGORIES.index(entry["category"]) for entry in catalogue().as_list() if entry["curated"]
    ]
    assert order == sorted(order)


def test_all_lists_every_block_once():
    keys = [block.key for block in catalogue().all()]
    assert len(keys) == len(set(keys)) == len(catalogue())


def test_as_list_is_json_serialisable():
    json.dumps(catalogue().as_list(), allow_nan=False)


def test_every_block_uses_known_categories_and_port_types():
    for block in catalogue():
        assert block.category in CATEGORIES, block.key
        assert all(p.type in PORT_TYPES for p in block.inputs + block.outputs), block.key


def test_sklearn_block_keys_are_public_import_paths():
    for block in catalogue():
        if block.key.startswith("sklearn."):
            assert "._" not in block.key
            assert skb.estimator_class(block.key).__name__ == block.key.rsplit(".", 1)[1]


def test_two_blocks_with_one_key_are_refused():
    block = catalogue().get("data.split")
    try:
        Catalogue([block, block])
    except ValueError as exc:
        assert "data.split" in str(exc)
    else:
        raise AssertionError("duplicate key accepted")


def test_specs_read_back_from_the_disk_cache_equal_a_fresh_discovery(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_BLOCKS_CACHE_DIR", str(tmp_path))
    first = skb.load_specs()  # discovers and writes the cache
    assert len(list(tmp_path.glob("sklearn-blocks-*.json"))) == 1
    assert skb.load_specs() == first == json.loads(json.dumps(skb.discover_specs()))


def test_a_corrupt_cache_file_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_BLOCKS_CACHE_DIR", str(tmp_path))
    path = skb._cache_file()
    path.write_text('[{"key": 1')
    specs = skb.load_specs()
    assert len(specs) > 150
    assert json.loads(path.read_text()) == specs
