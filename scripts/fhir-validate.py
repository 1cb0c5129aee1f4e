#!/usr/bin/env python3
"""Checks a `nuts-wallet audit export --format fhir` file with an independent FHIR model.

    .tools/fhir-venv/bin/python scripts/fhir-validate.py BUNDLE.json [--log ENTRIES.json]

1. The whole Bundle is parsed by fhir.resources (R4B model; Bundle and AuditEvent are the same
   as in R4): element names, cardinalities and primitive formats (instant, uri, code, id, ...).
2. What that model does not check: the required value sets used here (Bundle.type,
   AuditEvent.action, outcome, network type), Bundle rules for a `collection` (fullUrl on every
   entry, unique, matching the resource id), and the wallet's own promises: period = recorded,
   the first entity carrying the log entry's `seq` and 64-hex `hash`, seqs increasing, and a
   disclosure (DCM 110106 + `disclose`) following the BALP pattern (action R, a source agent,
   one recipient agent).
3. With --log (a later `--format json` export of the same log): every event's seq and hash
   equal the entry's, and no entry between the bundle's first and last seq is missing.

Exits 0 and prints `fhir-validate: OK ...`, or prints every problem found and exits 1.
"""
import json
import re
import sys

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

DCM = "http://dicom.nema.org/resources/ontology/DCM"
LIFECYCLE = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
BUNDLE_TYPES = {"document", "message", "transaction", "transaction-response", "batch",
                "batch-response", "history", "searchset", "collection"}
ACTIONS = {"C", "R", "U", "D", "E"}
OUTCOMES = {"0", "4", "8", "12"}
NETWORK_TYPES = {"1", "2", "3", "4", "5"}
UUID_URN = re.compile(r"^urn:uuid:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def check(raw, log):
    problems = []
    try:
        Bundle.model_validate(raw)
    except ValidationError as e:
        problems.append(f"not a valid FHIR R4B Bundle: {e}")
    if not isinstance(raw, dict):
        return problems + ["the file is not a JSON object"], 0
    if raw.get("resourceType") != "Bundle":
        problems.append("resourceType is not Bundle")
    if raw.get("type") not in BUNDLE_TYPES:
        problems.append(f"Bundle.type {raw.get('type')!r} is not a bundle-type code")
    elif raw.get("type") != "collection":
        problems.append(f"Bundle.type is {raw['type']!r}, expected 'collection'")
    entries = raw.get("entry") or []
    seen_urls = set()
    last_seq = None
    by_seq = {}
    for i, item in enumerate(entries):
        where = f"entry[{i}]"
        res = item.get("resource") or {}
        url = item.get("fullUrl")
        m = UUID_URN.match(url or "")
        if not m:
            problems.append(f"{where}: fullUrl {url!r} is not a urn:uuid")
        elif m.group(1) != res.get("id"):
            problems.append(f"{where}: fullUrl does not match the resource id {res.get('id')!r}")
        if url in seen_urls:
            problems.append(f"{where}: duplicate fullUrl {url}")
        seen_urls.add(url)
        if res.get("resourceType") != "AuditEvent":
            problems.append(f"{where}: not an AuditEvent")
            continue
        for c in [res.get("type") or {}] + (res.get("subtype") or []):
            if not c.get("system") or not c.get("code"):
                problems.append(f"{where}: a type/subtype coding without system and code: {c}")
        if res.get("action") not in ACTIONS:
            problems.append(f"{where}: action {res.get('action')!r} is not an audit-event-action code")
        if res.get("outcome") not in OUTCOMES:
            problems.append(f"{where}: outcome {res.get('outcome')!r} is not an audit-event-outcome code")
        period = res.get("period") or {}
        if period.get("start") != res.get("recorded") or period.get("end") != res.get("recorded"):
            problems.append(f"{where}: period is not the entry time (recorded)")
        for a in res.get("agent") or []:
            net = a.get("network")
            if net and net.get("type") not in NETWORK_TYPES:
                problems.append(f"{where}: agent network type {net.get('type')!r} is not a network-type code")
        ent = (res.get("entity") or [{}])[0]
        details = {d.get("type"): d.get("valueString") for d in ent.get("detail") or []}
        seq, hsh = details.get("seq"), details.get("hash")
        if seq is None or not seq.isdigit():
            problems.append(f"{where}: the first entity has no numeric seq detail")
            continue
        if not HEX64.match(hsh or ""):
            problems.append(f"{where}: the first entity has no 64-hex hash detail")
        if ent.get("what", {}).get("identifier", {}).get("value") != seq:
            problems.append(f"{where}: entity.what.identifier is not the seq")
        if last_seq is not None and int(seq) <= last_seq:
            problems.append(f"{where}: seq {seq} does not follow {last_seq}")
        last_seq = int(seq)
        by_seq[int(seq)] = hsh
        t = res.get("type") or {}
        subs = {(c.get("system"), c.get("code")) for c in res.get("subtype") or []}
        if (t.get("system"), t.get("code")) == (DCM, "110106") and (LIFECYCLE, "disclose") in subs:
            roles = [((a.get("type") or {}).get("coding") or [{}])[0] for a in res.get("agent") or []]
            src = [r for r in roles if (r.get("system"), r.get("code")) == (DCM, "110153")]
            dst = [r for r in roles if (r.get("system"), r.get("code")) == (DCM, "110152")]
            if res.get("action") != "R":
                problems.append(f"{where}: a disclosure must have action R")
            if not src or len(dst) != 1:
                problems.append(f"{where}: a disclosure needs source agents and one recipient agent")
    if log is not None and by_seq:
        # The log may have grown since the export (every unlock is an entry): compare the
        # span the bundle covers.
        lo, hi = min(by_seq), max(by_seq)
        want = {e["seq"]: e["hash"] for e in log if lo <= e["seq"] <= hi}
        if want != by_seq:
            missing = sorted(set(want) - set(by_seq))
            extra = sorted(set(by_seq) - set(want))
            differ = sorted(s for s in set(want) & set(by_seq) if want[s] != by_seq[s])
            problems.append(f"does not match the log: missing {missing}, extra {extra}, hash differs {differ}")
    return problems, len(entries)


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--log"):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        raw = json.load(f)
    log = None
    if len(argv) == 4:
        with open(argv[3], encoding="utf-8") as f:
            log = json.load(f)
    problems, n = check(raw, log)
    if problems:
        for p in problems:
            print(f"fhir-validate: {p}")
        print(f"fhir-validate: FAILED ({len(problems)} problems)")
        return 1
    print(f"fhir-validate: OK: a FHIR Bundle ({raw['type']}) of {n} AuditEvents")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
