"""Chart and CRD files that must stay in step (no Helm needed)."""

import importlib.util
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "calisera"


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_schema", CHART / "hack" / "gen_schema.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chart_crd_is_identical_to_the_repository_crd():
    assert (CHART / "crds" / "providertenants.yaml").read_bytes() == (
        ROOT / "crds" / "providertenants.yaml"
    ).read_bytes()


def test_values_schema_is_generated_from_values_yaml():
    generated = load_generator().generate()
    assert (CHART / "values.schema.json").read_text() == generated, (
        "values.schema.json drifted: run python charts/calisera/hack/gen_schema.py"
    )


def test_every_value_is_documented_by_a_comment():
    assert load_generator().undocumented() == []


def test_schema_rejects_unknown_keys_and_latest_tag():
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["additionalProperties"] is False
    assert schema["properties"]["image"]["properties"]["tag"]["not"] == {"const": "latest"}
    listing = schema["properties"]["services"]["properties"]["listing"]
    assert listing["properties"]["autoscaling"]["properties"]["maxReplicas"]["type"] == "integer"


def test_crd_is_a_valid_v1alpha1_namespaced_crd_with_status_and_immutable_slug():
    crd = yaml.safe_load((ROOT / "crds" / "providertenants.yaml").read_text())
    assert crd["metadata"]["name"] == "providertenants.calisera.io"
    assert crd["spec"]["scope"] == "Namespaced"
    assert crd["spec"]["names"]["shortNames"] == ["pt"]
    (version,) = crd["spec"]["versions"]
    assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert set(spec["required"]) == {"slug", "displayName", "ownerEmail", "timezone"}
    assert spec["properties"]["slug"]["x-kubernetes-validations"][0]["rule"] == "self == oldSelf"
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns == ["Slug", "Ready", "URL", "Age"]


def test_crds_pass_kubernetes_1_30_schema_validation():
    import kubernetes_validate

    for path in [ROOT / "crds" / "providertenants.yaml", CHART / "crds" / "kopfpeerings.yaml"]:
        kubernetes_validate.validate(yaml.safe_load(path.read_text()), "1.30.0", strict=True)


def test_chart_readme_values_table_is_generated_from_values_yaml():
    generator = load_generator()
    current = (CHART / "README.md").read_text()
    assert current == generator.readme(current), (
        "charts/calisera/README.md values table drifted: run hack/gen_schema.py"
    )
    assert "| `services.listing.autoscaling.enabled` | boolean | `true` |" in current


def test_skaffold_builds_the_one_image_and_deploys_the_chart_with_dev_and_prod_profiles():
    skaffold = yaml.safe_load((ROOT / "skaffold.yaml").read_text())
    (artifact,) = skaffold["build"]["artifacts"]
    assert (ROOT / artifact["docker"]["dockerfile"]).is_file()
    (release,) = skaffold["deploy"]["helm"]["releases"]
    assert (ROOT / release["chartPath"] / "Chart.yaml").is_file()
    for values in release["valuesFiles"]:
        assert (ROOT / values).is_file()
    profiles = {p["name"]: p for p in skaffold["profiles"]}
    assert set(profiles) == {"dev", "prod"}
    for patch in profiles["prod"]["patches"]:
        for values in patch["value"]:
            assert (ROOT / values).is_file()


def test_dockerfile_is_a_non_root_multi_stage_uv_build():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert stages == ["FROM python:3.11-slim AS build", "FROM python:3.11-slim AS runtime"]
    assert any("uv sync --frozen" in line for line in lines)
    assert "USER 10001" in lines
    assert 'ENTRYPOINT ["calisera"]' in lines


def test_dashboards_are_generated_from_their_code():
    spec = importlib.util.spec_from_file_location(
        "gen_dashboards", CHART / "hack" / "gen_dashboards.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    generated = module.generate()
    on_disk = {p.name: p.read_text() for p in (CHART / "dashboards").glob("*.json")}
    assert on_disk == generated, (
        "dashboards drifted: run python charts/calisera/hack/gen_dashboards.py"
    )
    for text in generated.values():
        board = json.loads(text)
        assert board["uid"].startswith("calisera-") and board["schemaVersion"] >= 36
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids))
        for panel in board["panels"]:
            assert panel["targets"] and all(t["expr"] for t in panel["targets"])
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
