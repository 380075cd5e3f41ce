"""Load and validate a rule directory into a RuleSet, reporting every problem with its location.

A rule directory holds `*.yaml` files. Each file is a mapping whose top-level sections are any of:
`ruleset` (version, description: exactly one file), `sampling`, `categories`, `reference_prices`,
`licences`, `checks`, `fx_to_usd`, `approved_storage_sites` (each at most once across the directory),
and `rules` (any number of files). Nothing is half-loaded: any error rejects the whole set.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from risk.catalog import Catalog, Category, LicenceRequirement, ReferencePrice
from risk.conditions import SPECS, CompiledConditions, ConditionValueError, compile_conditions
from risk.errors import RuleError, RuleSetError
from risk.model import LANE, OUTCOME_STAGE, Check, Lane, Outcome
from risk.ruleset import CreditEffect, Rule, RuleSet, SamplingPolicy, StageSampling, TopUp
from risk.yamlsrc import YamlDoc, YamlSyntaxError, load_yaml

DEFAULT_RULES_DIR = Path(__file__).resolve().parent / "rules"

SECTIONS = (
    "ruleset",
    "sampling",
    "categories",
    "reference_prices",
    "licences",
    "checks",
    "fx_to_usd",
    "approved_storage_sites",
    "rules",
)
_RULE_KEYS = {
    "id", "version", "stage", "reason", "priority", "when", "unless", "action", "effective", "credit"
}  # fmt: skip
_CREDIT_CLASSES = ("aeo", "certified", "general", "discredited")
_CREDIT_KEYS = ("exempt", "rate", "outcome", "checks", "location", "reason")
_REQUIRED_RULE_KEYS = ("id", "version", "stage", "reason", "priority", "when", "action")
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_LOCATIONS = {"port", "destination", "approved_site"}
_AUTHORITIES = {"customs", "quarantine"}
_TOPUP_LANES = (Lane.RED, Lane.YELLOW, Lane.BLUE)


@dataclass(slots=True)
class _Source:
    name: str
    doc: YamlDoc


class _Problems:
    """Collects errors with file, line and a readable path."""

    def __init__(self) -> None:
        self.errors: list[RuleError] = []

    def add(
        self, src: _Source | str, path: tuple[str | int, ...], message: str, line: int | None = None
    ) -> None:
        if isinstance(src, str):
            self.errors.append(RuleError(src, line, _fmt(path), message))
            return
        self.errors.append(RuleError(src.name, line or src.doc.line(path), _fmt(path), message))


def _fmt(path: tuple[str | int, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def load_ruleset(directory: str | Path | None = None) -> RuleSet:
    """Load every `*.yaml` file of `directory` (default: the shipped risk/rules). Raises RuleSetError
    listing all problems."""
    root = Path(directory) if directory is not None else DEFAULT_RULES_DIR
    if not root.is_dir():
        raise RuleSetError([RuleError(str(root), None, "", "not a directory")])
    files = sorted(p for p in root.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise RuleSetError([RuleError(str(root), None, "", "no *.yaml rule files")])
    return load_ruleset_files(files, source=str(root))


def load_ruleset_files(files: Iterable[Path], source: str = "") -> RuleSet:
    problems = _Problems()
    digest = hashlib.sha256()
    sources: list[_Source] = []
    for path in files:
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + raw + b"\0")
        name = str(path)
        try:
            doc = load_yaml(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            problems.add(name, (), f"not UTF-8: {exc}")
            continue
        except YamlSyntaxError as exc:
            problems.add(name, (), f"YAML syntax error: {exc}", exc.line)
            continue
        src = _Source(name, doc)
        for key_path, line in doc.duplicate_keys:
            problems.add(src, key_path, "duplicate key", line)
        if doc.data is None:
            continue  # empty file: allowed (e.g. a placeholder)
        if not isinstance(doc.data, dict):
            problems.add(src, (), "a rule file must be a mapping of sections")
            continue
        for key in doc.data:
            if key not in SECTIONS:
                problems.add(src, (key,), f"unknown section (allowed: {', '.join(SECTIONS)})")
        sources.append(src)

    owners: dict[str, _Source] = {}
    for src in sources:
        for key in src.doc.data:
            if key in SECTIONS and key != "rules":
                if key in owners:
                    problems.add(src, (key,), f"section already defined in {owners[key].name}")
                else:
                    owners[key] = src

    catalog = _catalog(owners, problems)
    version, description = _ruleset_meta(owners.get("ruleset"), problems)
    sampling = _sampling(owners.get("sampling"), catalog, problems)
    rules: list[Rule] = []
    seen_ids: dict[str, str] = {}
    for src in sources:
        if "rules" not in src.doc.data:
            continue
        entries = src.doc.data["rules"]
        if not isinstance(entries, list):
            problems.add(src, ("rules",), "must be a list of rules")
            continue
        for i, entry in enumerate(entries):
            rule = _rule(src, ("rules", i), entry, catalog, problems, len(rules))
            if rule is None:
                continue
            if rule.id in seen_ids:
                problems.add(
                    src, ("rules", i, "id"), f"duplicate rule id {rule.id!r} (first in {seen_ids[rule.id]})"
                )
                continue
            seen_ids[rule.id] = rule.source
            rules.append(rule)
    if problems.errors:
        raise RuleSetError(problems.errors)
    return RuleSet(
        version=f"{version}+{digest.hexdigest()[:12]}",
        description=description,
        rules=tuple(rules),
        catalog=catalog,
        sampling=sampling,
        source=source,
    )


# ---- sections ----------------------------------------------------------------------------------


def _ruleset_meta(src: _Source | None, problems: _Problems) -> tuple[str, str]:
    if src is None:
        problems.add("<rule directory>", (), "no file defines the `ruleset` section (version, description)")
        return "unversioned", ""
    meta = src.doc.data["ruleset"]
    if not isinstance(meta, dict):
        problems.add(src, ("ruleset",), "must be a mapping with `version` and `description`")
        return "unversioned", ""
    version = meta.get("version")
    if not isinstance(version, str | int) or isinstance(version, bool) or not str(version).strip():
        problems.add(src, ("ruleset", "version"), "required: a non-empty version string")
        version = "unversioned"
    for key in meta:
        if key not in ("version", "description"):
            problems.add(src, ("ruleset", key), "unknown key")
    return str(version), str(meta.get("description", ""))


def _mapping(src: _Source, path: tuple[str | int, ...], value: Any, problems: _Problems) -> dict[Any, Any]:
    if not isinstance(value, dict):
        problems.add(src, path, "must be a mapping")
        return {}
    return value


def _str_list(src: _Source, path: tuple[str | int, ...], value: Any, problems: _Problems) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        problems.add(src, path, "must be a list of quoted strings")
        return []
    out = []
    for i, v in enumerate(value):
        if not isinstance(v, str) or not v.strip():
            hint = " (quote codes: YAML reads 0801 as an octal number)" if isinstance(v, int) else ""
            problems.add(src, (*path, i), f"{v!r} must be a non-empty quoted string{hint}")
        else:
            out.append(v.strip())
    return out


def _decimal(src: _Source, path: tuple[str | int, ...], value: Any, problems: _Problems) -> Decimal | None:
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        d = Decimal(str(value))
        if not d.is_finite() or d <= 0:
            raise InvalidOperation
        return d
    except (InvalidOperation, ValueError):
        problems.add(src, path, f"{value!r} must be a positive number")
        return None


def _catalog(owners: dict[str, _Source], problems: _Problems) -> Catalog:
    cat = Catalog()
    if src := owners.get("checks"):
        for code, spec in _mapping(src, ("checks",), src.doc.data["checks"], problems).items():
            p = ("checks", code)
            spec = _mapping(src, p, spec, problems)
            authority = spec.get("authority")
            if authority not in _AUTHORITIES:
                problems.add(src, (*p, "authority"), f"must be one of {sorted(_AUTHORITIES)}")
            if not isinstance(spec.get("description"), str) or not spec["description"].strip():
                problems.add(src, (*p, "description"), "required: plain-language description")
            cat.checks[str(code)] = Check(str(code), str(authority), str(spec.get("description", "")))
    if src := owners.get("categories"):
        for name, spec in _mapping(src, ("categories",), src.doc.data["categories"], problems).items():
            p = ("categories", name)
            spec = _mapping(src, p, spec, problems)
            for key in spec:
                if key not in ("description", "hs_prefixes", "goods_attr", "un_number"):
                    problems.add(src, (*p, key), "unknown key")
            prefixes = _str_list(src, (*p, "hs_prefixes"), spec.get("hs_prefixes", []), problems)
            for j, pre in enumerate(prefixes):
                if not re.fullmatch(r"\d{2,10}", pre):
                    problems.add(src, (*p, "hs_prefixes", j), f"{pre!r} is not 2-10 digits")
            attrs = _str_list(src, (*p, "goods_attr"), spec.get("goods_attr", []), problems)
            un = spec.get("un_number", False)
            if not isinstance(un, bool):
                problems.add(src, (*p, "un_number"), "must be true or false")
            if not prefixes and not attrs and not un:
                problems.add(src, p, "a category needs hs_prefixes, goods_attr or un_number: true")
            cat.categories[str(name)] = Category(
                str(name), str(spec.get("description", "")), tuple(prefixes), frozenset(attrs), un is True
            )
    if src := owners.get("fx_to_usd"):
        for code, rate in _mapping(src, ("fx_to_usd",), src.doc.data["fx_to_usd"], problems).items():
            d = _decimal(src, ("fx_to_usd", code), rate, problems)
            if d is not None:
                cat.fx_to_usd[str(code).upper()] = d
    if src := owners.get("reference_prices"):
        entries = src.doc.data["reference_prices"]
        if not isinstance(entries, list):
            problems.add(src, ("reference_prices",), "must be a list")
            entries = []
        for i, e in enumerate(entries):
            p = ("reference_prices", i)
            e = _mapping(src, p, e, problems)
            hs = e.get("hs_prefix")
            if not isinstance(hs, str) or not re.fullmatch(r"\d{2,10}", hs):
                problems.add(src, (*p, "hs_prefix"), f"{hs!r} must be a quoted string of 2-10 digits")
                continue
            price = _decimal(src, (*p, "price"), e.get("price"), problems)
            currency = str(e.get("currency", "")).upper()
            if currency not in cat.fx_to_usd:
                problems.add(src, (*p, "currency"), f"{currency!r} has no rate in fx_to_usd")
            if hs in cat.reference_prices:
                problems.add(src, (*p, "hs_prefix"), f"duplicate reference price for {hs}")
            if price is not None:
                cat.reference_prices[hs] = ReferencePrice(hs, price, currency, str(e.get("unit", "")))
    if src := owners.get("licences"):
        lic = _mapping(src, ("licences",), src.doc.data["licences"], problems)
        for code, text in _mapping(
            src, ("licences", "documents"), lic.get("documents", {}), problems
        ).items():
            cat.licence_documents[str(code)] = str(text)
        reqs = lic.get("requirements", [])
        if not isinstance(reqs, list):
            problems.add(src, ("licences", "requirements"), "must be a list")
            reqs = []
        for i, r in enumerate(reqs):
            p = ("licences", "requirements", i)
            r = _mapping(src, p, r, problems)
            docs = _str_list(src, (*p, "documents"), r.get("documents", []), problems)
            for j, d in enumerate(docs):
                if d not in cat.licence_documents:
                    problems.add(src, (*p, "documents", j), f"unknown licence document code {d!r}")
            hs, category = r.get("hs_prefix", ""), r.get("category", "")
            if bool(hs) == bool(category):
                problems.add(src, p, "give exactly one of hs_prefix or category")
            elif hs and (not isinstance(hs, str) or not re.fullmatch(r"\d{2,10}", hs)):
                problems.add(src, (*p, "hs_prefix"), f"{hs!r} must be a quoted string of 2-10 digits")
            elif category and category not in cat.categories:
                problems.add(src, (*p, "category"), f"unknown category {category!r}")
            cat.licence_requirements.append(
                LicenceRequirement(tuple(docs), str(hs or ""), str(category or ""))
            )
    if src := owners.get("approved_storage_sites"):
        sites = _str_list(src, ("approved_storage_sites",), src.doc.data["approved_storage_sites"], problems)
        cat.approved_storage_sites = frozenset(sites)
    return cat.finish()


def _checks(
    src: _Source, path: tuple[str | int, ...], value: Any, catalog: Catalog, problems: _Problems
) -> tuple[Check, ...]:
    out = []
    for j, code in enumerate(_str_list(src, path, value if value is not None else [], problems)):
        if code not in catalog.checks:
            problems.add(src, (*path, j), f"unknown check {code!r} (define it in the `checks` section)")
        else:
            out.append(catalog.checks[code])
    return tuple(out)


def _sampling(src: _Source | None, catalog: Catalog, problems: _Problems) -> SamplingPolicy:
    if src is None:
        return SamplingPolicy()
    cfg = _mapping(src, ("sampling",), src.doc.data["sampling"], problems)
    for key in cfg:
        if key not in ("seed", "stages", "expected_rates"):
            problems.add(src, ("sampling", key), "unknown key")
    seed = cfg.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        problems.add(src, ("sampling", "seed"), "must be an integer")
        seed = 0
    stages: dict[int, StageSampling] = {}
    for stage, spec in _mapping(src, ("sampling", "stages"), cfg.get("stages", {}), problems).items():
        p = ("sampling", "stages", stage)
        if stage not in (1, 2):
            problems.add(src, p, "stage must be 1 or 2")
            continue
        spec = _mapping(src, p, spec, problems)
        outcome = _outcome(src, (*p, "outcome"), spec.get("outcome"), stage, problems)
        checks = _checks(src, (*p, "checks"), spec.get("checks"), catalog, problems)
        rates: dict[str, float] = {}
        raw_rates = _mapping(src, (*p, "rates"), spec.get("rates", {}), problems)
        for credit in ("aeo", "certified", "general", "discredited"):
            if credit not in raw_rates:
                problems.add(src, (*p, "rates"), f"missing rate for credit class {credit!r}")
        for credit, rate in raw_rates.items():
            if credit not in ("aeo", "certified", "general", "discredited"):
                problems.add(src, (*p, "rates", credit), "unknown credit class")
            elif isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
                problems.add(src, (*p, "rates", credit), f"{rate!r} must be a probability between 0 and 1")
            else:
                rates[credit] = float(rate)
        if outcome is not None:
            stages[stage] = StageSampling(outcome, checks, rates)
    expected: dict[int, tuple[TopUp, ...]] = {}
    for stage, lanes in _mapping(
        src, ("sampling", "expected_rates"), cfg.get("expected_rates", {}), problems
    ).items():
        p = ("sampling", "expected_rates", stage)
        if stage not in (1, 2):
            problems.add(src, p, "stage must be 1 or 2")
            continue
        tops = []
        for lane_name, spec in _mapping(src, p, lanes, problems).items():
            lp = (*p, lane_name)
            if lane_name not in {lane.value for lane in _TOPUP_LANES}:
                problems.add(src, lp, "lane must be red, yellow or blue")
                continue
            spec = _mapping(src, lp, spec, problems)
            rate = spec.get("rate")
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
                problems.add(src, (*lp, "rate"), f"{rate!r} must be a probability between 0 and 1")
                continue
            outcome = _outcome(src, (*lp, "outcome"), spec.get("outcome"), stage, problems)
            if outcome is not None and LANE[outcome] != Lane(lane_name):
                problems.add(
                    src,
                    (*lp, "outcome"),
                    f"{outcome.value} is in lane {LANE[outcome].value}, not {lane_name}",
                )
                continue
            checks = _checks(src, (*lp, "checks"), spec.get("checks"), catalog, problems)
            if outcome is not None:
                tops.append(TopUp(Lane(lane_name), float(rate), outcome, checks))
        tops.sort(key=lambda t: _TOPUP_LANES.index(t.lane))  # ASYCUDA precedence red > yellow > blue
        expected[stage] = tuple(tops)
    return SamplingPolicy(seed=seed, stages=stages, expected_rates=expected)


def _outcome(
    src: _Source, path: tuple[str | int, ...], value: Any, stage: Any, problems: _Problems
) -> Outcome | None:
    try:
        outcome = Outcome(value)
    except ValueError:
        allowed = [o.value for o, s in OUTCOME_STAGE.items() if s == stage]
        problems.add(src, path, f"{value!r} is not a stage-{stage} outcome (allowed: {', '.join(allowed)})")
        return None
    if OUTCOME_STAGE[outcome] != stage:
        problems.add(
            src, path, f"{outcome.value} is a stage-{OUTCOME_STAGE[outcome]} outcome, rule is stage {stage}"
        )
        return None
    return outcome


def _date(src: _Source, path: tuple[str | int, ...], value: Any, problems: _Problems) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.add(src, path, f"{value!r} is not a date (YYYY-MM-DD)")
        return None


def _conditions(
    src: _Source, path: tuple[str | int, ...], value: Any, catalog: Catalog, problems: _Problems
) -> CompiledConditions | None:
    if not isinstance(value, dict) or not value:
        problems.add(src, path, "must be a non-empty mapping of conditions")
        return None
    parsed: dict[str, Any] = {}
    ok = True
    for name, raw in value.items():
        spec = SPECS.get(name)
        if spec is None:
            problems.add(src, (*path, name), f"unknown condition (known: {', '.join(sorted(SPECS))})")
            ok = False
            continue
        try:
            parsed[name] = spec.parse(raw, catalog)
        except ConditionValueError as exc:
            problems.add(src, (*path, name), str(exc))
            ok = False
    return compile_conditions(parsed) if ok else None


def _rule(
    src: _Source, path: tuple[str | int, ...], entry: Any, catalog: Catalog, problems: _Problems, seq: int
) -> Rule | None:
    if not isinstance(entry, dict):
        problems.add(src, path, "a rule must be a mapping")
        return None
    before = len(problems.errors)
    rid = entry.get("id")
    label = path  # the machine path; the rule id (when known) is prefixed to the message
    tag = f"rule {rid!r}: " if isinstance(rid, str) else ""

    def err(sub: tuple[str | int, ...], msg: str) -> None:
        problems.add(src, (*label, *sub), tag + msg, src.doc.line((*path, *sub)))

    for key in entry:
        if key not in _RULE_KEYS:
            err((key,), f"unknown key (allowed: {', '.join(sorted(_RULE_KEYS))})")
    for key in _REQUIRED_RULE_KEYS:
        if key not in entry:
            err((), f"missing required `{key}`")
    if "id" in entry and (not isinstance(rid, str) or not _RULE_ID.match(rid)):
        err(("id",), f"{rid!r} must match {_RULE_ID.pattern}")
    version = entry.get("version")
    if "version" in entry and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        err(("version",), f"{version!r} must be an integer >= 1")
    stage = entry.get("stage")
    if "stage" in entry and stage not in (1, 2):
        err(("stage",), f"{stage!r} must be 1 or 2")
    reason = entry.get("reason")
    if "reason" in entry and (not isinstance(reason, str) or len(reason.strip()) < 10):
        err(("reason",), "must be a plain-language sentence shown to users (>= 10 characters)")
    priority = entry.get("priority")
    if "priority" in entry and (isinstance(priority, bool) or not isinstance(priority, int)):
        err(("priority",), f"{priority!r} must be an integer")
    when = _conditions(src, (*path, "when"), entry["when"], catalog, problems) if "when" in entry else None
    unless = (
        _conditions(src, (*path, "unless"), entry["unless"], catalog, problems) if "unless" in entry else None
    )
    outcome, checks, location = None, (), None
    if "action" in entry:
        action = _mapping(src, (*path, "action"), entry["action"], problems)
        for key in action:
            if key not in ("outcome", "checks", "location"):
                err(("action", key), "unknown key (allowed: outcome, checks, location)")
        if "outcome" not in action:
            err(("action",), "missing required `outcome`")
        elif stage in (1, 2):
            outcome = _outcome(src, (*path, "action", "outcome"), action["outcome"], stage, problems)
        checks = _checks(src, (*path, "action", "checks"), action.get("checks"), catalog, problems)
        location = action.get("location")
        if location is not None and location not in _LOCATIONS:
            err(("action", "location"), f"{location!r} must be one of {sorted(_LOCATIONS)}")
    eff_from = eff_to = None
    if "effective" in entry:
        eff = _mapping(src, (*path, "effective"), entry["effective"], problems)
        for key in eff:
            if key not in ("from", "to"):
                err(("effective", key), "unknown key (allowed: from, to)")
        eff_from = _date(src, (*path, "effective", "from"), eff.get("from"), problems)
        eff_to = _date(src, (*path, "effective", "to"), eff.get("to"), problems)
        if eff_from and eff_to and eff_from > eff_to:
            err(("effective",), f"from {eff_from} is after to {eff_to}")
    credit = _credit(src, path, entry["credit"], stage, catalog, problems, tag) if "credit" in entry else {}
    if len(problems.errors) > before or when is None or outcome is None:
        return None
    return Rule(
        id=rid,
        version=version,
        stage=stage,
        reason=reason.strip(),
        priority=priority,
        outcome=outcome,
        checks=checks,
        location=location,
        effective_from=eff_from,
        effective_to=eff_to,
        when=when,
        unless=unless,
        source=f"{src.name}:{src.doc.line(path)}",
        seq=seq,
        credit=credit,
    )


def _credit(
    src: _Source,
    path: tuple[str | int, ...],
    value: Any,
    stage: Any,
    catalog: Catalog,
    problems: _Problems,
    tag: str,
) -> dict[str, CreditEffect]:
    """`credit: {<class>: exempt | {exempt, rate, outcome, checks, location, reason}}`."""
    base = (*path, "credit")
    out: dict[str, CreditEffect] = {}
    for credit, spec in _mapping(src, base, value, problems).items():
        p = (*base, credit)
        if credit not in _CREDIT_CLASSES:
            problems.add(src, p, f"{tag}unknown credit class (allowed: {', '.join(_CREDIT_CLASSES)})")
            continue
        if spec == "exempt":
            out[credit] = CreditEffect(exempt=True)
            continue
        if not isinstance(spec, dict) or not spec:
            problems.add(src, p, f"{tag}must be `exempt` or a mapping of {', '.join(_CREDIT_KEYS)}")
            continue
        for key in spec:
            if key not in _CREDIT_KEYS:
                problems.add(src, (*p, key), f"{tag}unknown key (allowed: {', '.join(_CREDIT_KEYS)})")
        exempt = spec.get("exempt", False)
        if not isinstance(exempt, bool):
            problems.add(src, (*p, "exempt"), f"{tag}must be true or false")
            exempt = False
        rate = spec.get("rate")
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1
        ):
            problems.add(src, (*p, "rate"), f"{tag}{rate!r} must be a probability between 0 and 1")
            rate = None
        outcome = None
        if "outcome" in spec and stage in (1, 2):
            outcome = _outcome(src, (*p, "outcome"), spec["outcome"], stage, problems)
        checks = _checks(src, (*p, "checks"), spec["checks"], catalog, problems) if "checks" in spec else None
        location = spec.get("location")
        if location is not None and location not in _LOCATIONS:
            problems.add(src, (*p, "location"), f"{tag}{location!r} must be one of {sorted(_LOCATIONS)}")
        reason = spec.get("reason", "")
        if not isinstance(reason, str):
            problems.add(src, (*p, "reason"), f"{tag}must be a plain-language sentence")
            reason = ""
        if exempt and ("rate" in spec or "outcome" in spec):
            problems.add(src, p, f"{tag}`exempt` cannot be combined with `rate` or `outcome`")
        elif not exempt and "rate" not in spec and "outcome" not in spec:
            problems.add(src, p, f"{tag}give `exempt: true`, a `rate`, an `outcome`, or rate and outcome")
        out[credit] = CreditEffect(
            exempt=exempt,
            rate=None if rate is None else float(rate),
            outcome=outcome,
            checks=checks,
            location=location,
            reason=reason.strip(),
        )
    return out
