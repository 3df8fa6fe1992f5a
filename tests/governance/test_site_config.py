"""The site file: checked once at start with one line naming the bad key; modes per site."""

from __future__ import annotations

import json

import pytest

from cds_service import create_app
from cds_service.errors import ConfigurationError
from cds_service.governance.site_config import load_site_config
from cds_service.knowledge import load_knowledge

RULES = load_knowledge().rules


def _write(tmp_path, text: str, name: str = "sites.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sites: {default: {rules: {iv-iron-indicated: loud}}}",
         "CDS_SITE_CONFIG sites.default.rules.iv-iron-indicated: mode must be one of active, "
         "silent, off, not 'loud'"),
        ("sites: {default: {rules: {no-such-rule: silent}}}",
         "CDS_SITE_CONFIG sites.default.rules.no-such-rule: no such rule in the knowledge files"),
        ("sites: {a: {rulez: {}}}",
         "CDS_SITE_CONFIG sites.a.rulez: unknown key; allowed: order_codes, patient_key_env, "
         "record_patient_reference, rules"),
        ("sites: {}\nretention: 3",
         "CDS_SITE_CONFIG retention: unknown key; allowed: change_note, changed_by, "
         "evaluation_records, monitoring, sites"),
        ("sites: {}\nmonitoring: {drift_factor: 0}",
         "CDS_SITE_CONFIG monitoring.drift_factor: must be a positive number"),
        ("sites: {a: {record_patient_reference: 'yes'}}",
         "CDS_SITE_CONFIG sites.a.record_patient_reference: must be true or false"),
        ("rules: {}", "CDS_SITE_CONFIG sites: the file must be a mapping with a 'sites' mapping"),
    ],
)
def test_bad_site_file_refuses_to_start_naming_the_key(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigurationError) as raised:
        create_app({"require_auth": False, "data_dir": tmp_path, "site_config": str(path)})
    assert str(raised.value) == message
    assert "\n" not in str(raised.value)


def test_unreadable_and_malformed_files_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"^CDS_SITE_CONFIG .*missing.json: cannot read"):
        load_site_config(tmp_path / "missing.json", RULES)
    bad = _write(tmp_path, "{\"sites\": ", "sites.json")
    with pytest.raises(ValueError, match=r"^CDS_SITE_CONFIG .*sites.json: not valid JSON"):
        load_site_config(bad, RULES)


def test_site_key_env_must_be_set(tmp_path):
    path = _write(tmp_path, "sites: {a: {patient_key_env: RLS_TEST_UNSET_KEY}}")
    with pytest.raises(ConfigurationError, match="sites.a.patient_key_env: environment variable "
                       "RLS_TEST_UNSET_KEY is not set"):
        create_app({"require_auth": False, "data_dir": tmp_path, "site_config": str(path)})


def test_modes_site_then_default_then_knowledge(tmp_path):
    path = _write(tmp_path, json.dumps({"sites": {
        "default": {"rules": {"iv-iron-indicated": "silent", "levodopa-against": "off"}},
        "https://a": {"rules": {"iv-iron-indicated": "active", "iron-studies-needed": "silent"}},
    }}), "sites.json")
    config = load_site_config(path, RULES)
    a, other = config.modes("https://a", RULES), config.modes("https://unlisted", RULES)
    assert (a["iv-iron-indicated"], a["iron-studies-needed"], a["levodopa-against"]) == (
        "active", "silent", "off")
    assert (other["iv-iron-indicated"], other["iron-studies-needed"]) == ("silent", "active")
    assert set(a.values()) == {"active", "silent", "off"} and len(a) == len(RULES)
    assert len(config.sha256) == 64


def test_no_site_file_every_rule_active():
    config = load_site_config(None, RULES)
    assert set(config.modes("anyone", RULES).values()) == {"active"}
    assert config.sha256 == ""


def test_knowledge_default_mode_applies_below_the_site_file(tmp_path):
    from cds_service.governance.site_config import SiteConfigError, check_default_modes

    rules = {"new-rule": {"default_mode": "silent"}, "old-rule": {}}
    path = _write(tmp_path, "sites: {a: {rules: {new-rule: active}}}")
    config = load_site_config(path, rules)
    assert config.modes("a", rules) == {"new-rule": "active", "old-rule": "active"}
    assert config.modes("b", rules) == {"new-rule": "silent", "old-rule": "active"}
    check_default_modes(rules)
    with pytest.raises(SiteConfigError, match=r"^recommendations.json rules.x.default_mode: "
                                              r"mode must be one of active, silent, off"):
        check_default_modes({"x": {"default_mode": "loud"}})
