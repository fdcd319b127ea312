#!/usr/bin/python3
"""The JSON Schemas in schema/ agree with `flotilla validate`.

  check_schema.py schemas --source DIR --flotilla BIN   every schema is a valid 2020-12 schema
  check_schema.py shipped --source DIR --flotilla BIN   every shipped file passes both
  check_schema.py wrong   --source DIR --flotilla BIN   every wrong file fails both

Runs under Debian's python3 with python3-jsonschema (the Makefile's TEST_PACKAGES).
"""
import argparse
import copy
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

try:
    import jsonschema
    from jsonschema import Draft202012Validator
except ImportError:
    sys.exit("python3-jsonschema is missing: apt-get install python3-jsonschema (make test-deps)")

SCHEMAS = ["scenario", "profile", "policy", "balancer", "duration"]


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def validator(source, name):
    path = source / "schema" / f"{name}.schema.json"
    schema = load(path)
    # Relative "$ref"s resolve against the schema's own file, as an editor resolves them.
    resolver = jsonschema.RefResolver(base_uri=path.resolve().as_uri(), referrer=schema)
    return Draft202012Validator(schema, resolver=resolver)


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def check_schemas(source, _flotilla):
    failures = []
    for name in SCHEMAS:
        v = validator(source, name)
        try:
            Draft202012Validator.check_schema(v.schema)
        except jsonschema.SchemaError as e:
            failures.append(f"{name}.schema.json: not a valid 2020-12 schema: {e.message}")
            continue
        if v.schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
            failures.append(f"{name}.schema.json: \"$schema\" is not draft 2020-12")
        for ref in refs(v.schema):
            try:
                v.resolver.resolve(ref)
            except jsonschema.RefResolutionError as e:
                failures.append(f"{name}.schema.json: $ref {ref} does not resolve: {e}")
    return failures


def shipped_files(source):
    """(path, schema name) of every file users edit that the repository ships."""
    out = [(p, "scenario") for p in sorted((source / "scenarios").glob("*.json"))]
    out += [(p, "profile") for p in sorted((source / "fleet").glob("*.json"))]
    out += [(p, "policy") for p in sorted((source / "policies").glob("*.json")) if "type" in load(p)]
    out.append((source / "bench" / "conf" / "flotilla-balance.json", "balancer"))
    return out


def flotilla_validate(flotilla, source, paths):
    return subprocess.run([flotilla, "validate", *map(str, paths)], cwd=source,
                          capture_output=True, text=True)


def check_shipped(source, flotilla):
    failures = []
    files = shipped_files(source)
    if len(files) < 20:
        failures.append(f"only {len(files)} shipped files found under {source}")
    for path, name in files:
        doc = load(path)
        want = str(pathlib.Path("..") / "schema" / f"{name}.schema.json")
        if path.parent.name == "conf":
            want = "../../schema/balancer.schema.json"
        if doc.get("$schema") != want:
            failures.append(f"{path}: \"$schema\" should be \"{want}\", is {doc.get('$schema')!r}")
        for e in validator(source, name).iter_errors(doc):
            failures.append(f"{path}: {name} schema: /{'/'.join(map(str, e.absolute_path))}: "
                            f"{e.message}")
    result = flotilla_validate(flotilla, source, [p for p, _ in files])
    if result.returncode != 0:
        failures.append("flotilla validate refused a shipped file:\n" + result.stdout + result.stderr)
    # AWS JSON stays as AWS takes it: no "$schema" there, and flotilla refuses one.
    for path in sorted((source / "policies").glob("*.json")):
        if "type" not in load(path) and "$schema" in load(path):
            failures.append(f"{path}: AWS JSON carries a \"$schema\"")
    return failures


# ---- the wrong files ----

def pointer_parts(pointer):
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def parent_and_key(doc, pointer):
    parts = pointer_parts(pointer)
    node = doc
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    last = parts[-1]
    return node, int(last) if isinstance(node, list) else last


def setting(pointer, value):
    def edit(doc):
        node, key = parent_and_key(doc, pointer)
        node[key] = value
    return edit


def renaming(pointer, new_key):
    def edit(doc):
        node, key = parent_and_key(doc, pointer)
        node[new_key] = node.pop(key)
    return edit


def removing(pointer):
    def edit(doc):
        node, key = parent_and_key(doc, pointer)
        del node[key]
    return edit


SCENARIO = "scenarios/flash-sale.json"
PROFILE = "fleet/standard.json"
TRACKING = "policies/cpu-target-50.json"
STEP = "policies/step-cpu.json"
SCHEDULED = "policies/scheduled-business-hours.json"
BALANCER = "bench/conf/flotilla-balance.json"
MIX = "scenarios/api-mix.json"
COMMAND = "scenarios/command-python.json"
SWARM = "scenarios/swarm-flash-sale.json"

# (what is wrong, base file, schema, edit, the pointer flotilla names, text its message holds).
# An unknown field is added beside the known one, so that only the unknown field is wrong.
WRONG = [
    # unknown fields
    ("a misspelt fleet field", SCENARIO, "scenario", setting("/fleet/desird", 2),
     "/fleet/desird", 'did you mean "desired"?'),
    ("an unknown top-level field", SCENARIO, "scenario", setting("/colour", "red"), "/colour", ""),
    ("\"$schema\" inside a block", SCENARIO, "scenario", setting("/fleet/$schema", "x"),
     "/fleet/$schema", ""),
    ("a misspelt balancer field", SCENARIO, "scenario", setting("/balancer/algoritm", "round_robin"),
     "/balancer/algoritm", 'did you mean "algorithm"?'),
    ("a misspelt fault kind", SCENARIO, "scenario", setting("/faults/0/kil", {"count": 1}),
     "/faults/0/kil", 'did you mean "kill"?'),
    ("two fault kinds", SCENARIO, "scenario", setting("/faults/0/stop", {}), "/faults/0/stop", ""),
    ("a profile field in another case", PROFILE, "profile", setting("/Capacity", 4),
     "/Capacity", 'did you mean "capacity"?'),
    ("a misspelt policy field", TRACKING, "policy", setting("/warmpu", "4s"), "/warmpu",
     'did you mean "warmup"?'),
    ("a misspelt health check field", BALANCER, "balancer",
     setting("/target_groups/0/health_check/intervl", "1s"),
     "/target_groups/0/health_check/intervl", 'did you mean "interval"?'),
    # wrong types
    ("a stage target that is not a number", SCENARIO, "scenario",
     setting("/traffic/stages/1/target", "lots"), "/traffic/stages/1/target", "a number"),
    ("a \"$schema\" that is not a string", SCENARIO, "scenario", setting("/$schema", 3), "/$schema",
     "a string"),
    ("a capacity in quotes", PROFILE, "profile", setting("/capacity", "4"), "/capacity",
     "a whole number"),
    ("a flag that is not a boolean", TRACKING, "policy", setting("/disable_scale_in", "yes"),
     "/disable_scale_in", "true or false"),
    ("a fractional thread count", BALANCER, "balancer", setting("/threads", 1.5), "/threads",
     "a whole number"),
    # out of range
    ("a fleet above 1000", SCENARIO, "scenario", setting("/fleet/max", 1001), "/fleet/max",
     "between 1 and 1000"),
    ("an availability above 1", SCENARIO, "scenario", setting("/slo", {"availability": 1.2}),
     "/slo/availability", "between 0 and 1"),
    ("a negative queue limit", PROFILE, "profile", setting("/queue_limit", -1), "/queue_limit",
     "between 0"),
    ("a scale-in ratio above 1", TRACKING, "policy", setting("/scale_in_ratio", 1.5),
     "/scale_in_ratio", "between 0.01 and 1"),
    ("a CPU target above 100%", TRACKING, "policy", setting("/target_value", 150), "/target_value",
     "between 0.01 and 100"),
    ("a health check threshold above 10", BALANCER, "balancer",
     setting("/target_groups/0/health_check/healthy_threshold", 11),
     "/target_groups/0/health_check/healthy_threshold", "between 1 and 10"),
    # bad enums
    ("an unknown algorithm", SCENARIO, "scenario", setting("/balancer/algorithm", "random"),
     "/balancer/algorithm", "one of"),
    ("a health check type in lower case", SCENARIO, "scenario",
     setting("/fleet/health_check_type", "elb"), "/fleet/health_check_type", "\"EC2\", \"ELB\""),
    ("an unknown metric", SCENARIO, "scenario", setting("/expect/0/metric", "latency"),
     "/expect/0/metric", "one of"),
    ("an unknown distribution", PROFILE, "profile", setting("/service_time/distribution", "normal"),
     "/service_time/distribution", "\"lognormal\""),
    ("an unknown policy metric", TRACKING, "policy", setting("/metric", "CPU"), "/metric",
     "ASGAverageCPUUtilization"),
    ("an unknown adjustment type", STEP, "policy", setting("/adjustment_type", "Percent"),
     "/adjustment_type", "PercentChangeInCapacity"),
    ("an unknown policy type", TRACKING, "policy", setting("/type", "predictive"), "/type",
     "a policy type"),
    # bad durations
    ("a duration in words", SCENARIO, "scenario", setting("/duration", "90 seconds"), "/duration",
     "a duration"),
    ("a negative fault time", SCENARIO, "scenario", setting("/faults/0/at", "-5s"), "/faults/0/at",
     "a duration"),
    ("a duration with a capital unit", SCENARIO, "scenario", setting("/metrics/period", "2S"),
     "/metrics/period", "a duration"),
    ("a space inside a duration", PROFILE, "profile", setting("/boot_time", "1 s"), "/boot_time",
     "a duration"),
    ("an unknown duration unit", TRACKING, "policy", setting("/warmup", "4sec"), "/warmup",
     "a duration"),
    ("a duration in days", BALANCER, "balancer", setting("/timeouts/connect", "1d"),
     "/timeouts/connect", "a duration"),
    ("a duration that is a boolean", SCHEDULED, "policy", setting("/minute", True), "/minute",
     "a duration"),
    # the request mix
    ("a mix entry of weight 0", MIX, "scenario", setting("/traffic/requests/1/weight", 0),
     "/traffic/requests/1/weight", "> 0"),
    ("a method HTTP does not have", MIX, "scenario", setting("/traffic/requests/1/method", "FETCH"),
     "/traffic/requests/1/method", "POST"),
    ("a body over 1 MiB", MIX, "scenario", setting("/traffic/requests/1/body_bytes", 2097152),
     "/traffic/requests/1/body_bytes", "1048576"),
    ("connections neither keep_alive nor new", MIX, "scenario", setting("/traffic/connections", "pooled"),
     "/traffic/connections", "keep_alive"),
    ("a mix entry without a path", MIX, "scenario", removing("/traffic/requests/2/path"),
     "/traffic/requests/2/path", "a value"),
    # shapes
    ("a kill that lasts", SCENARIO, "scenario", setting("/faults/0/for", "5s"), "/faults/0/for",
     "happens at once"),
    ("two traffic shapes", SCENARIO, "scenario",
     setting("/traffic/sine", {"base": 1, "amplitude": 1, "period": "10s"}), "/traffic",
     "exactly one of"),
    ("a window on a whole-run figure", SCENARIO, "scenario", setting("/expect/1/after", "10s"),
     "/expect/1/after", "no window or stat"),
    ("no min and no max", SCENARIO, "scenario", removing("/expect/0/max"), "/expect/0",
     "\"min\" or \"max\""),
    ("no profile", SCENARIO, "scenario", removing("/fleet/profile"), "/fleet/profile", "a value"),
    ("a lognormal without p99", PROFILE, "profile",
     setting("/service_time/distribution", "lognormal"), "/service_time/p99", "a p99 duration"),
    ("an action both at and on a cron", SCHEDULED, "policy", setting("/actions/0/at", "5s"),
     "/actions/0/at", "exactly one of at, cron"),
    ("a step without an adjustment", STEP, "policy", removing("/steps/0/adjustment"),
     "/steps/0/adjustment", "a value"),
    ("no target groups", BALANCER, "balancer", setting("/target_groups", []), "/target_groups",
     "at least one target group"),
    # the command provider
    ("an unknown provider", COMMAND, "scenario", setting("/fleet/provider", "docker"),
     "/fleet/provider", '"command"'),
    ("a command provider without a command", COMMAND, "scenario", removing("/fleet/command"),
     "/fleet/command", "a value"),
    ("a command without {port}", COMMAND, "scenario",
     setting("/fleet/command", ["python3", "-m", "http.server"]), "/fleet/command", "{port}"),
    ("a fault that needs the worker's control interface", COMMAND, "scenario",
     setting("/faults/0", {"at": "5s", "for": "5s", "slow": {"factor": 2}}), "/faults/0/slow",
     "control interface"),
    ("a command with the process provider", SCENARIO, "scenario",
     setting("/fleet/command", ["./server", "{port}"]), "/fleet/command", "process provider"),
    # the swarm provider
    ("an image with the process provider", SCENARIO, "scenario",
     setting("/fleet/image", "flotilla-worker:latest"), "/fleet/image", '"provider": "swarm"'),
    ("a swarm constraint without == or !=", SWARM, "scenario",
     setting("/fleet/constraints", ["manager"]), "/fleet/constraints/0", "== or !="),
    ("a swarm fleet without a profile", SWARM, "scenario", removing("/fleet/profile"),
     "/fleet/profile", "a value"),
]


def check_wrong(source, flotilla):
    failures = []
    refused = 0
    work = pathlib.Path(tempfile.mkdtemp(prefix="flotilla-schema-"))
    try:
        # The alarm file the step policy names sits beside it.
        (work / "policies").mkdir()
        shutil.copy(source / "policies" / "aws-step-cpu.alarm.json", work / "policies")
        for i, (what, base, schema, edit, pointer, text) in enumerate(WRONG):
            doc = copy.deepcopy(load(source / base))
            edit(doc)
            # Same folder name as the original: `flotilla validate` tells the kind by it.
            folder = work / pathlib.Path(base).parent.name
            folder.mkdir(exist_ok=True)
            path = folder / f"wrong-{i}.json"
            path.write_text(json.dumps(doc, indent=2), encoding="utf-8")

            before = len(failures)
            errors = list(validator(source, schema).iter_errors(doc))
            if not errors:
                failures.append(f"{what}: the {schema} schema accepts it")
            else:
                want = pointer_parts(pointer)
                paths = [list(map(str, e.absolute_path)) for e in errors]
                if not any(want[:len(p)] == p for p in paths):
                    failures.append(f"{what}: the schema refuses it at {paths}, not at {pointer} "
                                    "or above")
            result = flotilla_validate(flotilla, source, [path])
            said = result.stdout + result.stderr
            if result.returncode != 2:
                failures.append(f"{what}: flotilla validate exited {result.returncode}: {said}")
            elif f"{path}: {pointer}: " not in said or text not in said:
                failures.append(f"{what}: flotilla validate did not name {pointer} with "
                                f"{text!r}: {said}")
            refused += len(failures) == before
    finally:
        shutil.rmtree(work)
    print(f"{refused} of {len(WRONG)} wrong files refused by both")
    # AWS JSON stays as AWS takes it: "$schema" is an unknown field there.
    aws = load(source / "policies" / "aws-cpu-target-50.json")
    aws["$schema"] = "../schema/policy.schema.json"
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "policies"
        path.mkdir()
        path = path / "aws.json"
        path.write_text(json.dumps(aws), encoding="utf-8")
        result = flotilla_validate(flotilla, source, [path])
        if result.returncode != 2 or f"{path}: /$schema: " not in result.stdout:
            failures.append("AWS JSON with \"$schema\": not refused at /$schema: " + result.stdout)
    return failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("check", choices=["schemas", "shipped", "wrong"])
    parser.add_argument("--source", required=True, type=pathlib.Path)
    parser.add_argument("--flotilla", required=True)
    args = parser.parse_args()
    check = {"schemas": check_schemas, "shipped": check_shipped, "wrong": check_wrong}[args.check]
    failures = check(args.source.resolve(), args.flotilla)
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
