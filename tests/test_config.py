"""Settings are grouped in code, while each keeps its one flat name: variable, `.env` line and keyword argument."""

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from lore.config import Settings


def test_a_flat_variable_sets_the_field_in_its_group(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LORE_HNSW_CONNECTIVITY", "16")
    monkeypatch.setenv("LORE_OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("LORE_DATA_DIR", str(tmp_path))
    settings = Settings(_env_file=None)
    assert settings.index.hnsw_connectivity == 16
    assert settings.openai.openai_api_key == SecretStr("sk-from-env")
    assert settings.storage.index_dir == tmp_path / "index"
    assert settings.storage.store_url == f"sqlite:///{(tmp_path / 'lore.db').resolve()}"


def test_a_dotenv_file_sets_fields_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LORE_KEYWORD_INDEX=memory\nLORE_MAX_K=50\nLORE_LOCAL_THREADS=2\n")
    monkeypatch.setenv("LORE_MAX_K", "60")
    settings = Settings(_env_file=env_file)
    assert settings.index.keyword_index == "memory"
    assert settings.local.local_threads == 2
    assert settings.serving.max_k == 60


def test_flat_keyword_arguments_set_fields_and_win_over_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LORE_KEYWORD_INDEX", "store")
    settings = Settings(_env_file=None, data_dir=Path("elsewhere"), keyword_index="memory", port=9000)
    assert settings.storage.data_dir == Path("elsewhere")
    assert settings.index.keyword_index == "memory"
    assert settings.serving.port == 9000


def test_updated_changes_a_copy_by_flat_names() -> None:
    settings = Settings(_env_file=None)
    changed = settings.updated(keyword_index="memory", llm_retries=0)
    assert (changed.index.keyword_index, changed.answers.llm_retries) == ("memory", 0)
    assert settings.index.keyword_index == "store"
    assert changed.storage is settings.storage
    with pytest.raises(TypeError, match="hnsw_degree"):
        settings.updated(hnsw_degree=3)
    with pytest.raises(ValidationError, match="job_retries"):
        settings.updated(job_retries=-1)


@pytest.mark.parametrize("source", ["environment", "keyword"])
def test_a_bad_value_is_reported_under_its_flat_name(monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    if source == "environment":
        monkeypatch.setenv("LORE_HNSW_CONNECTIVITY", "many")
        values = {}
    else:
        values = {"hnsw_connectivity": "many"}
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None, **values)
    assert [error["loc"] for error in raised.value.errors()] == [("hnsw_connectivity",)]
    assert str(raised.value).splitlines()[1] == "hnsw_connectivity"


def test_every_field_of_every_group_is_described_and_named_once() -> None:
    names = [name for model in Settings.groups().values() for name in model.model_fields]
    assert len(names) == len(set(names)) == len(Settings.setting_fields())
    undescribed = [name for name, field in Settings.setting_fields().items() if not field.description]
    assert undescribed == []
    assert all(model.__doc__ for model in Settings.groups().values())
