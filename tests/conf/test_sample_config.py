"""The committed sample configuration is what the options generate."""

import os

from oslo_config import generator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
GENERATOR_CONFIG = os.path.join(
    ROOT, "etc", "oslo-config-generator", "reqspec.conf"
)
SAMPLE = os.path.join(ROOT, "etc", "reqspec.conf.sample")


def test_the_sample_configuration_is_current(tmp_path: object) -> None:
    fresh = os.path.join(str(tmp_path), "reqspec.conf.sample")
    # oslo-config-generator itself, through the oslo.config.opts entry
    # point that setup.cfg declares.
    generator.main(["--config-file", GENERATOR_CONFIG, "--output-file", fresh])
    with open(fresh) as f:
        generated = f.read()
    with open(SAMPLE) as f:
        committed = f.read()
    assert "[api_database]" in generated and "#max_document_bytes" in generated
    assert committed == generated, (
        "etc/reqspec.conf.sample is stale: run 'oslo-config-generator "
        "--config-file etc/oslo-config-generator/reqspec.conf' and commit it"
    )
