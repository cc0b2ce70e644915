"""deploy/prometheus/alerts.yml: valid YAML, and every OrderAtlas metric it names is one /metrics serves."""

import re
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def _family(sample_name: str) -> str:
    for suffix in SUFFIXES:
        if sample_name.endswith(suffix):
            return sample_name[: -len(suffix)]
    return sample_name


async def test_every_metric_an_alert_uses_is_served(client: httpx.AsyncClient) -> None:
    rules = [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]
    assert rules and all({"alert", "expr", "annotations"} <= rule.keys() for rule in rules)
    used = {_family(name) for rule in rules for name in re.findall(r"orderatlas_[a-z_]+", rule["expr"])}
    served = {family.name for family in text_string_to_metric_families((await client.get("/metrics")).text)}
    assert used and used <= served, used - served
