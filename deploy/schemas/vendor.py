"""Rebuilds the vendored schemas of this folder from the wheels of their PyPI packages.

    pip download --no-deps -d /tmp/wheels check-jsonschema==0.39.0 kubernetes-validate==1.37.0
    python3 deploy/schemas/vendor.py /tmp/wheels

The Compose schema is copied as it is. The Kubernetes one is made of kubernetes-validate's
strict schemas of the kinds deploy/k8s uses, in one file that picks the schema by `kind`,
with every definition they reach copied in, so that it stands alone.
"""

import json
import pathlib
import re
import sys
import zipfile

K8S_VERSION = "v1.33.0"
KINDS = {
    "ConfigMap": "configmap-v1",
    "Deployment": "deployment-apps-v1",
    "Job": "job-batch-v1",
    "PodDisruptionBudget": "poddisruptionbudget-policy-v1",
    "Service": "service-v1",
}
HERE = pathlib.Path(__file__).parent
# A kind's file refers to `/api/_definitions.json#/$defs/NAME`, a definition to `#/$defs/NAME`.
REF = re.compile(r'"(?:/api/_definitions\.json)?#/\$defs/([^"]+)"')


def wheel(folder, name):
    return zipfile.ZipFile(next(pathlib.Path(folder).glob(f"{name}-*.whl")))


def main(folder):
    jsonschema = wheel(folder, "check_jsonschema")
    vendor = "check_jsonschema/builtin_schemas/vendor/"
    (HERE / "compose-spec.json").write_bytes(jsonschema.read(vendor + "compose-spec.json"))

    k8s = wheel(folder, "kubernetes_validate")
    base = f"kubernetes_validate/kubernetes-json-schema/{K8S_VERSION}-local-strict/"
    definitions = json.loads(k8s.read(base + "_definitions.json"))["$defs"]
    defs, todo = {}, []
    for kind, file in KINDS.items():
        schema = json.loads(k8s.read(base + file + ".json"))
        for key in ("$schema", "$id"):
            schema.pop(key)
        defs[kind] = schema
        todo.append(schema)
    while todo:
        for name in REF.findall(json.dumps(todo.pop())):
            if name not in defs:
                defs[name] = definitions[name]
                todo.append(definitions[name])
    bundle = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Kubernetes {K8S_VERSION} (strict): {', '.join(KINDS)}",
        "type": "object",
        "required": ["apiVersion", "kind"],
        "properties": {"kind": {"enum": list(KINDS)}},
        "allOf": [
            {"if": {"properties": {"kind": {"const": kind}}}, "then": {"$ref": f"#/$defs/{kind}"}}
            for kind in KINDS
        ],
        "$defs": dict(sorted(defs.items())),
    }
    text = REF.sub(r'"#/$defs/\1"', json.dumps(bundle, indent=1))
    (HERE / f"kubernetes-{K8S_VERSION}-strict.json").write_text(text + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
