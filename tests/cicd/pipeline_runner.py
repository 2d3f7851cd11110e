"""Run one execution of a CodePipeline pipeline deployed in the emulator, stage by stage, as CodePipeline
would: moto stores pipelines and CodeBuild projects but runs nothing.

    run = run_pipeline(org, "orgiam-sync", REPO, account="Deployments", region="eu-west-1",
                       approve=lambda stage, action, configuration: True, trigger="schedule",
                       environment={"PATH": f"{BIN}:/usr/bin:/bin", "ORGIAM_SKIP_INSTALL": "1"})
    run.status                      # Succeeded | Failed | Waiting
    run.stages["Approval"].status   # Succeeded | Failed | Skipped | Waiting | NotRun
    run.action("Plan").build.log    # the build's log (tests/cicd/buildspec_runner.BuildRun)
    print(run.describe())           # what happened, for an assertion message

What is read: the pipeline with GetPipeline and every CodeBuild project it names with BatchGetProjects, in
the pipeline's account and region, as deployed. What is reproduced:

- the execution: StartPipelineExecution is called (with the pipeline's V2 ``variables``, defaults
  overridden by ``variables=``), and the execution moto records for it is then kept up to date by this
  runner (see "Trigger" below): its status (InProgress, then Succeeded, Failed, or InProgress while an
  approval waits) and its trigger;
- Source actions (CodeCommit, CodeStarSourceConnection): ``source_dir`` is the checkout. Its output
  artifact is a copy of it with CODE_ZIP semantics: what a commit can hold, i.e. with a git work tree
  the files ``git ls-files --cached --others --exclude-standard`` lists (git-ignored files left out),
  and never ``.git``, ``.venv``, ``out/`` or ``__pycache__``. Its variables: ``CommitId``
  (``git rev-parse HEAD`` when ``source_dir`` is the top of a git work tree, else a digest of the files),
  ``CommitMessage``, ``AuthorDate``, ``CommitterDate``, ``BranchName`` (from the action's configuration),
  ``RepositoryName`` (CodeCommit) or ``FullRepositoryName`` and ``ConnectionArn`` (connections);
  ``source_variables=`` adds or overrides. ``OutputArtifactFormat: CODEBUILD_CLONE_REF`` is refused.
- stages in order; in a stage, actions by ``runOrder`` (those sharing one run one after the other here);
  a failed action fails its stage after the other actions of its run order, and the run; later stages
  are NotRun.
- entry conditions (``beforeEntry``, V2 pipelines): see below. ``onSuccess`` and ``onFailure``
  conditions, and rule providers other than VariableCheck, are refused (PipelineRunnerError) before the
  execution starts: never passed over.
- CodeBuild actions (Build or Test category): the project's ServiceRole is assumed with sts:AssumeRole
  from the pipeline account's own session (``org.session(account, region)``), session name
  ``AWSCodeBuild-<build uuid>``, as CodeBuild does, and the project's buildspec is run with
  ``buildspec_runner.run_buildspec``: ``Source.BuildSpec`` inline YAML text, or a path in the primary
  source (``buildspec.yml`` when empty); an S3 buildspec is refused. The build's environment, later
  entries winning: ``PATH=/usr/local/bin:/usr/bin:/bin``; the project's environment variables; the
  action's ``EnvironmentVariables`` (JSON; ``#{namespace.VAR}`` in names and values resolved); CodeBuild's
  own (CODEBUILD_SRC_DIR: a fresh copy of the ``PrimarySource`` input artifact or the only input;
  CODEBUILD_SRC_DIR_<ArtifactName> for every other input, each a fresh copy too; CODEBUILD_BUILD_ID,
  CODEBUILD_BUILD_ARN, CODEBUILD_BUILD_NUMBER, CODEBUILD_BUILD_URL, CODEBUILD_BUILD_IMAGE,
  CODEBUILD_INITIATOR=codepipeline/<pipeline>, CODEBUILD_RESOLVED_SOURCE_VERSION, CODEBUILD_START_TIME,
  CODEBUILD_KMS_KEY_ID, AWS_REGION, AWS_DEFAULT_REGION, the assumed role's AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ENDPOINT_URL (the emulator), HOME (an empty directory
  of its own)); then ``environment=`` (the caller's). Nothing else of this process's environment is
  passed. Variables of type PARAMETER_STORE or SECRETS_MANAGER are refused (PipelineRunnerError).
  The action's output artifact is the build's ``artifacts`` (one output artifact) or the
  ``secondary-artifacts`` named like the output artifacts (several), copied to
  ``workspace/<ArtifactName>`` under their names relative to ``base-directory``; an output artifact the
  buildspec declares no files for, or whose files match nothing, fails the action (CodeBuild: "no
  matching artifact paths found"). The buildspec's exported variables are the action's variables, in
  its namespace. A failed or timed-out build fails the action.
- Manual approval actions: the configuration (CustomData, ExternalEntityLink, ...) is resolved and
  ``approve(stage, action, configuration)`` decides: True approves, False rejects (the action fails);
  ``approve=None`` leaves the run waiting there (status Waiting; ``PipelineRun.waited``).
- ``#{namespace.VAR}`` references in any action configuration: the namespaces of actions that succeeded
  earlier in the run, ``codepipeline`` (``PipelineExecutionId``) and ``variables`` (the pipeline's V2
  variables). A reference to anything else fails the action (or the stage, in an entry condition) and
  names the reference.

Not reproduced: the artifact store (artifacts are directories under ``workspace``, not S3 objects),
parallel actions, retries, rollbacks, stage transitions, approval notifications (SNS is not published
to), approval timeouts, CodeBuild batch builds, reports, caches, VPC settings, whether the pipeline's
own role may do what it does, and the service role's trust policy (it is assumed from the pipeline
account's session, not by codebuild.amazonaws.com).

Entry conditions (VariableCheck) — what the AWS CodePipeline User Guide says
---------------------------------------------------------------------------

"Configure conditions for a stage", https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-conditions.html:
"If all rules in a condition succeed, then the condition is met. You can configure conditions so that when
the criteria are not met, the specified result engages." "Entry - The conditions for making checks that,
if met, allow entry to a stage. Rules are engaged with the following result options: Fail or Skip." Its
considerations: for entry conditions with the Skip result only the LambdaInvoke and VariableCheck rules
are supported. API reference BeforeEntryConditions
(https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_BeforeEntryConditions.html): exactly
one condition; Condition.result is one of ROLLBACK | FAIL | RETRY | SKIP.

So here: every rule of the condition is checked; when all pass, the stage is entered; when one fails, the
condition's result engages: SKIP marks the stage (and its actions) Skipped and the run goes on with the
next stage; FAIL fails the stage and the run. Any other result is refused.

"VariableCheck", https://docs.aws.amazon.com/codepipeline/latest/userguide/rule-reference-VariableCheck.html:
rule type category Rule, owner AWS, provider VariableCheck, version 1; configuration ``Variable`` (the
pipeline variable to check, e.g. ``#{SourceVariables.RepositoryName}``), ``Value`` (the value to check
against) and ``Operator``, one of EQ (equals the string value), CONTAINS (contains it as a substring),
MATCHES (matches it as a regular expression, Java syntax: taken here as a whole-string match, Java's
``String.matches``, with Python's ``re``) and NE (does not equal it). "The rule passes the check when the
variable value meets the rule criteria." No other operator is documented (no GT, LT): any other is
refused. So a stage to be SKIPPED when ``#{Plan.ORGIAM_CHANGES}`` is "0" has the rule
``{Variable: "#{Plan.ORGIAM_CHANGES}", Operator: NE, Value: "0"}`` with result SKIP: it is entered when
the rule passes (changes), skipped when it fails (no change).

Trigger
-------

cicd/trigger.py asks GetPipelineExecution what started the run (``trigger.triggerType`` and
``triggerDetail``). moto 5.2.5 keeps executions (``CodePipeline.executions`` in its codepipeline backend)
but reports every one as started by StartPipelineExecution and Succeeded. The emulator runs in this
process (``EmulatorServer`` is a thread), so the runner starts the execution with StartPipelineExecution
and then replaces the execution moto recorded with one that reports the trigger it is given and the
run's status: the build's own GetPipelineExecution (as its service role, through the emulator) reads
them, and no environment variable stands in for it. ``trigger``:

- ``"manual"``: StartPipelineExecution, detail the caller's ARN;
- ``"schedule"``: CloudWatchEvent, detail the ARN of the EventBridge rule in the pipeline's account and
  region that targets the pipeline and has a ScheduleExpression (exactly one must);
- ``"event"``: CloudWatchEvent, the rule (on any bus) that targets the pipeline with an event pattern not
  of ``aws.codecommit`` (exactly one must);
- ``"commit"``: for a CodeCommit source, CloudWatchEvent with the ``aws.codecommit`` rule that targets the
  pipeline; for a connection, ``WebhookV2`` when the pipeline declares V2 ``triggers``, else ``Webhook``,
  detail the ConnectionArn (an approximation: AWS does not document that detail);
- a ``Trigger(type, detail)``: as given.

An emulator in another process cannot be told: any trigger but "manual" then raises PipelineRunnerError
before the execution starts.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import boto3
import yaml
from botocore.exceptions import ClientError

from tests.cicd.buildspec_runner import BuildRun, BuildspecError, parse_buildspec, run_buildspec

Approver = Callable[[str, str, dict[str, str]], bool]

# the checkout, as a source action hands it on (CODE_ZIP): never these
SOURCE_SKIP_TOP = frozenset({".git", ".venv", "out", "__pycache__"})
SOURCE_SKIP_ANYWHERE = frozenset({".git", "__pycache__"})
IMAGE_PATH = "/usr/local/bin:/usr/bin:/bin"

VARIABLE_CHECK_OPERATORS = ("EQ", "NE", "CONTAINS", "MATCHES")
ENTRY_RESULTS = ("SKIP", "FAIL")
SOURCE_PROVIDERS = ("CodeCommit", "CodeStarSourceConnection")
BUILD_CATEGORIES = ("Build", "Test")
_REFERENCE = re.compile(r"#\{([^.{}]+)\.([^{}]+)\}")
_build_numbers: dict[str, itertools.count[int]] = {}


class PipelineRunnerError(RuntimeError):
    """A pipeline (or an emulator) this runner cannot run as CodePipeline would: raised, never recorded
    as a run that failed."""


class VariableError(ValueError):
    """A ``#{namespace.VAR}`` reference that names nothing known at that point of the run."""


class OrgLike(Protocol):
    """What the runner needs of ``tests.cicd.conftest.Org``."""

    endpoint: str
    accounts: dict[str, str]

    def session(self, account: str, region: str = ...) -> boto3.session.Session: ...


@dataclass(frozen=True)
class Trigger:
    """GetPipelineExecution's ``trigger``: ``type`` is its triggerType, ``detail`` its triggerDetail."""

    type: str
    detail: str = ""


@dataclass
class RuleRun:
    name: str
    provider: str
    configuration: dict[str, str]  # Variable and Value resolved
    passed: bool
    detail: str


@dataclass
class ConditionRun:
    result: str  # what engages when a rule fails: SKIP | FAIL
    rules: list[RuleRun]

    @property
    def met(self) -> bool:
        return all(rule.passed for rule in self.rules)


@dataclass
class ActionRun:
    stage: str
    name: str
    category: str
    provider: str
    run_order: int
    namespace: str | None
    input_artifacts: list[str]
    output_artifacts: list[str]
    status: str = "NotRun"  # Succeeded | Failed | Waiting | Skipped | NotRun
    configuration: dict[str, str] = field(default_factory=dict)  # resolved (the declared one when it could not be)
    variables: dict[str, str] = field(default_factory=dict)  # output variables (in ``namespace`` when it has one)
    build: BuildRun | None = None
    build_id: str | None = None
    environment: dict[str, str] = field(default_factory=dict, repr=False)  # what the build was given
    role_arn: str | None = None  # the project's service role
    session_arn: str | None = None  # the assumed-role ARN the build ran as
    approved: bool | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def log(self) -> str:
        return self.build.log if self.build is not None else ""


@dataclass
class StageRun:
    name: str
    actions: dict[str, ActionRun]
    status: str = "NotRun"  # Succeeded | Failed | Skipped | Waiting | NotRun
    entry: list[ConditionRun] = field(default_factory=list)
    error: str | None = None


@dataclass
class PipelineRun:
    pipeline_name: str
    account_id: str
    region: str
    execution_id: str
    trigger: Trigger
    stages: dict[str, StageRun]
    workspace: Path
    status: str = "InProgress"  # Succeeded | Failed | Waiting once run_pipeline returns
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)  # artifact name -> directory
    waited: tuple[str, str] | None = None  # (stage, action) of the approval the run waits for
    error: str | None = None  # why it failed, in one line
    seconds: float = 0.0
    declaration: dict[str, Any] = field(default_factory=dict, repr=False)  # GetPipeline's pipeline

    def action(self, name: str) -> ActionRun:
        """An action by ``Stage.Action`` or by its name alone when no other action has it."""
        stage_name, _, action_name = name.rpartition(".")
        found = [a for s in self.stages.values() for a in s.actions.values()
                 if a.name == action_name and stage_name in ("", a.stage)]
        if len(found) != 1:
            raise KeyError(f"{name}: {len(found)} actions of that name in {self.pipeline_name}")
        return found[0]

    @property
    def actions(self) -> list[ActionRun]:
        return [a for s in self.stages.values() for a in s.actions.values()]

    @property
    def builds(self) -> list[ActionRun]:
        return [a for a in self.actions if a.build is not None]

    @property
    def roles(self) -> dict[str, str]:
        """``Stage.Action`` -> the assumed-role ARN each build ran as."""
        return {f"{a.stage}.{a.name}": a.session_arn for a in self.actions if a.session_arn}

    def describe(self, log_tail: int = 3000) -> str:
        """What happened, stage by stage, with the log's end of a failed build: for assertion messages."""
        lines = [f"{self.pipeline_name} execution {self.execution_id} ({self.trigger.type}): {self.status}"
                 + (f": {self.error}" if self.error else "")]
        for stage in self.stages.values():
            lines.append(f"  {stage.name}: {stage.status}" + (f" ({stage.error})" if stage.error else ""))
            for condition in stage.entry:
                for rule in condition.rules:
                    lines.append(f"    entry {condition.result} rule {rule.name}: "
                                 f"{'passed' if rule.passed else 'failed'}: {rule.detail}")
            for action in stage.actions.values():
                lines.append(f"    {action.name}: {action.status}" + (f" ({action.error})" if action.error else ""))
                if action.status == "Failed" and action.build is not None:
                    lines.append("      " + action.build.log[-log_tail:].replace("\n", "\n      "))
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ variables


def resolve(text: str, namespaces: Mapping[str, Mapping[str, str]]) -> str:
    """``text`` with every ``#{namespace.VAR}`` replaced; VariableError names the first unknown one."""

    def value(match: re.Match[str]) -> str:
        namespace, name = match.group(1), match.group(2)
        if namespace not in namespaces:
            raise VariableError(f"{match.group(0)}: no namespace {namespace} in this run so far "
                                f"(known: {', '.join(sorted(namespaces)) or 'none'})")
        if name not in namespaces[namespace]:
            raise VariableError(f"{match.group(0)}: namespace {namespace} has no variable {name} "
                                f"(it has: {', '.join(sorted(namespaces[namespace])) or 'none'})")
        return namespaces[namespace][name]

    return _REFERENCE.sub(value, text)


def check_variable(configuration: Mapping[str, Any],
                   namespaces: Mapping[str, Mapping[str, str]]) -> tuple[bool, str, dict[str, str]]:
    """A VariableCheck rule: (passed, why, resolved configuration). VariableError for an unknown
    reference, PipelineRunnerError for an operator AWS does not document."""
    missing = [key for key in ("Variable", "Value", "Operator") if key not in configuration]
    if missing:
        raise PipelineRunnerError(f"VariableCheck rule without {', '.join(missing)}: {dict(configuration)}")
    operator = str(configuration["Operator"])
    if operator not in VARIABLE_CHECK_OPERATORS:
        raise PipelineRunnerError(f"VariableCheck operator {operator} is not one of "
                                  f"{', '.join(VARIABLE_CHECK_OPERATORS)}")
    variable = resolve(str(configuration["Variable"]), namespaces)
    expected = resolve(str(configuration["Value"]), namespaces)
    if operator == "EQ":
        passed = variable == expected
    elif operator == "NE":
        passed = variable != expected
    elif operator == "CONTAINS":
        passed = expected in variable
    else:
        try:
            passed = re.fullmatch(expected, variable) is not None
        except re.error as error:
            raise PipelineRunnerError(f"VariableCheck MATCHES: bad regular expression {expected!r}: {error}") from None
    resolved = {str(k): str(v) for k, v in configuration.items()}
    resolved.update(Variable=variable, Value=expected)
    return passed, f"{configuration['Variable']} = {variable!r} {operator} {expected!r}", resolved


# ------------------------------------------------------------------------------------------------ the execution in moto


@functools.cache
def _recorded_execution_class() -> type:
    from moto.codepipeline.models import PipelineExecution

    class RecordedExecution(PipelineExecution):  # type: ignore[misc]
        """moto's execution, reporting the trigger and status this runner gives it."""

        trigger: dict[str, str]

        def to_dict(self) -> dict[str, Any]:
            answer: dict[str, Any] = super().to_dict()
            answer["trigger"] = dict(self.trigger)
            return answer

        def to_summary_dict(self) -> dict[str, Any]:
            answer: dict[str, Any] = super().to_summary_dict()
            answer["trigger"] = dict(self.trigger)
            return answer

    return RecordedExecution


def _emulator_in_process(account_id: str, region: str, pipeline_name: str) -> bool:
    """Whether this process's moto holds the pipeline, i.e. the emulator serves from this process."""
    from moto.codepipeline.models import codepipeline_backends

    return pipeline_name in codepipeline_backends[account_id][region].pipelines


def _adopt_execution(account_id: str, region: str, pipeline_name: str, execution_id: str,
                     trigger: Trigger) -> Any | None:
    """moto's record of the execution, now reporting ``trigger``; None when the emulator is not in this
    process (this process's moto has no such execution)."""
    from moto.codepipeline.models import codepipeline_backends

    pipeline = codepipeline_backends[account_id][region].pipelines.get(pipeline_name)
    execution = pipeline.executions.get(execution_id) if pipeline is not None else None
    if execution is None:
        return None
    recorded_class = _recorded_execution_class()
    recorded = recorded_class.__new__(recorded_class)
    recorded.__dict__.update(execution.__dict__)
    recorded.trigger = {"triggerType": trigger.type, "triggerDetail": trigger.detail}
    pipeline.executions[execution_id] = recorded
    return recorded


def _set_execution_status(execution: Any | None, status: str, summary: str | None = None) -> None:
    if execution is None:
        return
    from moto.core.utils import utcnow

    execution.status = status
    execution.status_summary = summary
    execution.last_update_time = utcnow()


def _event_rules(events: Any, pipeline_arn: str) -> list[dict[str, Any]]:
    rules = []
    for bus in events.list_event_buses()["EventBuses"]:
        names = events.list_rule_names_by_target(TargetArn=pipeline_arn, EventBusName=bus["Name"])["RuleNames"]
        rules.extend(events.describe_rule(Name=name, EventBusName=bus["Name"]) for name in names)
    return rules


def _pattern_sources(rule: Mapping[str, Any]) -> list[str]:
    pattern = json.loads(rule.get("EventPattern") or "{}")
    sources = pattern.get("source", [])
    return [str(s) for s in (sources if isinstance(sources, list) else [sources])]


def _one_rule(rules: list[dict[str, Any]], what: str, pipeline_arn: str) -> str:
    if len(rules) != 1:
        raise PipelineRunnerError(
            f"trigger {what}: {len(rules)} EventBridge rules target {pipeline_arn} "
            f"({', '.join(r['Arn'] for r in rules) or 'none'}); pass Trigger('CloudWatchEvent', rule_arn)")
    return str(rules[0]["Arn"])


def resolve_trigger(trigger: str | Trigger, session: boto3.session.Session, endpoint: str,
                    declaration: Mapping[str, Any], pipeline_arn: str) -> Trigger:
    if isinstance(trigger, Trigger):
        return trigger
    if trigger == "manual":
        arn = session.client("sts", endpoint_url=endpoint).get_caller_identity()["Arn"]
        return Trigger("StartPipelineExecution", str(arn))
    if trigger not in ("schedule", "event", "commit"):
        raise PipelineRunnerError(f"trigger {trigger!r}: manual, schedule, event, commit or a Trigger")
    if trigger == "commit":
        sources = [a for a in _actions(declaration) if a["actionTypeId"]["category"] == "Source"]
        provider = sources[0]["actionTypeId"]["provider"] if sources else ""
        if provider == "CodeStarSourceConnection":
            kind = "WebhookV2" if declaration.get("triggers") else "Webhook"
            return Trigger(kind, str(sources[0].get("configuration", {}).get("ConnectionArn", "")))
    rules = _event_rules(session.client("events", endpoint_url=endpoint), pipeline_arn)
    if trigger == "schedule":
        return Trigger("CloudWatchEvent", _one_rule([r for r in rules if r.get("ScheduleExpression")], trigger,
                                                    pipeline_arn))
    if trigger == "commit":
        chosen = [r for r in rules if "aws.codecommit" in _pattern_sources(r)]
    else:
        chosen = [r for r in rules if r.get("EventPattern") and "aws.codecommit" not in _pattern_sources(r)]
    return Trigger("CloudWatchEvent", _one_rule(chosen, trigger, pipeline_arn))


# ------------------------------------------------------------------------------------------------ the declaration


def _actions(declaration: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [action for stage in declaration.get("stages", []) for action in stage.get("actions", [])]


def _check_declaration(declaration: Mapping[str, Any], projects: Mapping[str, dict[str, Any] | None]) -> None:
    """Refuse, before anything runs, what this runner cannot run as CodePipeline would."""
    name = declaration["name"]
    sources = 0
    for stage in declaration.get("stages", []):
        where = f"{name}: stage {stage['name']}"
        for kind in ("onSuccess", "onFailure"):
            if stage.get(kind):
                raise PipelineRunnerError(f"{where}: {kind} conditions are not supported by this runner")
        for condition in (stage.get("beforeEntry") or {}).get("conditions", []):
            result = condition.get("result")
            if result not in ENTRY_RESULTS:
                raise PipelineRunnerError(f"{where}: entry condition result {result!r}: SKIP or FAIL expected")
            for rule in condition.get("rules", []):
                provider = rule.get("ruleTypeId", {}).get("provider")
                if provider != "VariableCheck":
                    raise PipelineRunnerError(f"{where}: rule {rule.get('name')} of provider {provider}: only "
                                              "VariableCheck rules are supported by this runner")
                missing = [k for k in ("Variable", "Value", "Operator") if k not in (rule.get("configuration") or {})]
                if missing:
                    raise PipelineRunnerError(f"{where}: rule {rule.get('name')}: VariableCheck without "
                                              f"{', '.join(missing)}")
                operator = str(rule["configuration"]["Operator"])
                if operator not in VARIABLE_CHECK_OPERATORS:
                    raise PipelineRunnerError(f"{where}: rule {rule.get('name')}: VariableCheck operator {operator} "
                                              f"is not one of {', '.join(VARIABLE_CHECK_OPERATORS)}")
        for action in stage.get("actions", []):
            type_id = action["actionTypeId"]
            category, owner, provider = type_id["category"], type_id.get("owner"), type_id["provider"]
            what = f"{where}: action {action['name']} ({category}/{owner}/{provider})"
            configuration = action.get("configuration") or {}
            if category == "Source" and provider in SOURCE_PROVIDERS and owner == "AWS":
                sources += 1
                if configuration.get("OutputArtifactFormat", "CODE_ZIP") != "CODE_ZIP":
                    raise PipelineRunnerError(f"{what}: OutputArtifactFormat {configuration['OutputArtifactFormat']} "
                                              "is not supported (CODE_ZIP only)")
            elif category in BUILD_CATEGORIES and provider == "CodeBuild" and owner == "AWS":
                if str(configuration.get("BatchEnabled", "false")).lower() == "true":
                    raise PipelineRunnerError(f"{what}: batch builds are not supported")
                inputs = [a["name"] for a in action.get("inputArtifacts", [])]
                if len(inputs) > 1 and configuration.get("PrimarySource") not in inputs:
                    raise PipelineRunnerError(f"{what}: several input artifacts need PrimarySource, one of {inputs}")
                for variable in _action_environment_declared(configuration, what):
                    _check_variable_type(variable, what)
                project = projects.get(str(configuration.get("ProjectName")))
                for variable in (project or {}).get("environment", {}).get("environmentVariables", []):
                    _check_variable_type(variable, f"project {configuration.get('ProjectName')}")
                buildspec = str((project or {}).get("source", {}).get("buildspec") or "")
                if buildspec.startswith("arn:"):
                    raise PipelineRunnerError(f"{what}: project {configuration.get('ProjectName')} has its buildspec "
                                              f"in S3 ({buildspec}): not supported by this runner")
            elif category == "Approval" and provider == "Manual" and owner == "AWS":
                pass
            else:
                raise PipelineRunnerError(f"{what}: not supported by this runner")
    if sources != 1:
        raise PipelineRunnerError(f"{name}: {sources} source actions; this runner runs pipelines with one "
                                  "(its checkout is source_dir)")


def _action_environment_declared(configuration: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
    text = configuration.get("EnvironmentVariables")
    if not text:
        return []
    try:
        variables = json.loads(text) if isinstance(text, str) else text
    except ValueError as error:
        raise PipelineRunnerError(f"{what}: EnvironmentVariables is not JSON: {error}") from None
    if not isinstance(variables, list) or not all(isinstance(v, dict) and "name" in v for v in variables):
        raise PipelineRunnerError(f"{what}: EnvironmentVariables must be a list of {{name, value, type}}")
    return variables


def _check_variable_type(variable: Mapping[str, Any], what: str) -> None:
    kind = variable.get("type", "PLAINTEXT")
    if kind != "PLAINTEXT":
        raise PipelineRunnerError(f"{what}: environment variable {variable.get('name')} of type {kind}: "
                                  "only PLAINTEXT is supported by this runner")


# ------------------------------------------------------------------------------------------------ the source


def _git(source_dir: Path, *args: str) -> str | None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}  # e.g. GIT_DIR of a hook
    try:
        proc = subprocess.run(["git", "-C", str(source_dir), *args], capture_output=True, text=True, timeout=30,
                              env=environment, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _is_git_top(source_dir: Path) -> bool:
    top = _git(source_dir, "rev-parse", "--show-toplevel")
    return top is not None and Path(top.strip()).resolve() == source_dir.resolve()


def _skipped(relative: Path) -> bool:
    parts = relative.parts
    return bool(parts) and (parts[0] in SOURCE_SKIP_TOP or any(p in SOURCE_SKIP_ANYWHERE for p in parts))


def _source_files(source_dir: Path, git: bool) -> list[Path]:
    """The files of the checkout a CODE_ZIP holds, relative to it."""
    if git:
        listed = _git(source_dir, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
        if listed is None:
            raise PipelineRunnerError(f"git ls-files failed in {source_dir}")
        names = sorted({Path(n) for n in listed.split("\0") if n})
        return [n for n in names if not _skipped(n) and ((source_dir / n).is_file() or (source_dir / n).is_symlink())]
    found = []
    for root, dirs, files in os.walk(source_dir):
        relative_root = Path(root).relative_to(source_dir)
        dirs[:] = sorted(d for d in dirs if not _skipped(relative_root / d))
        found.extend(relative_root / f for f in sorted(files) if not _skipped(relative_root / f))
    return found


def _copy_files(source_dir: Path, files: list[Path], destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    for relative in files:
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source_dir / relative, target, follow_symlinks=False)


def _source_variables(source_dir: Path, files: list[Path], git: bool, action: Mapping[str, Any]) -> dict[str, str]:
    configuration = action.get("configuration") or {}
    if git:
        commit = (_git(source_dir, "rev-parse", "HEAD") or "").strip()
        message = (_git(source_dir, "log", "-1", "--format=%B") or "").strip()
        author_date = (_git(source_dir, "log", "-1", "--format=%aI") or "").strip()
        committer_date = (_git(source_dir, "log", "-1", "--format=%cI") or "").strip()
    else:
        digest = hashlib.sha1()
        for relative in files:
            digest.update(relative.as_posix().encode() + b"\0")
            path = source_dir / relative
            digest.update(os.readlink(path).encode() if path.is_symlink() else path.read_bytes())
        commit = digest.hexdigest()
        message = ""
        author_date = committer_date = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    variables = {"CommitId": commit, "CommitMessage": message, "AuthorDate": author_date,
                 "CommitterDate": committer_date, "BranchName": str(configuration.get("BranchName", ""))}
    if action["actionTypeId"]["provider"] == "CodeCommit":
        variables["RepositoryName"] = str(configuration.get("RepositoryName", ""))
    else:
        variables["FullRepositoryName"] = str(configuration.get("FullRepositoryId", ""))
        variables["ConnectionArn"] = str(configuration.get("ConnectionArn", ""))
    return variables


# ------------------------------------------------------------------------------------------------ running


class _Run:
    def __init__(self, org: OrgLike, account_id: str, region: str, session: boto3.session.Session,
                 run: PipelineRun, projects: dict[str, dict[str, Any] | None], source_dir: Path,
                 source_variables: Mapping[str, str], approve: Approver | None, environment: Mapping[str, str],
                 deadline: float, timeout: float, echo: bool) -> None:
        self.org, self.account_id, self.region, self.session = org, account_id, region, session
        self.run, self.projects, self.source_dir = run, projects, source_dir
        self.source_variables, self.approve, self.environment = source_variables, approve, environment
        self.deadline, self.timeout, self.echo = deadline, timeout, echo
        self.revisions: dict[str, str] = {}  # artifact -> the commit it comes from
        self.action_dirs = run.workspace / ".actions"

    # stages

    def stage(self, declared: Mapping[str, Any]) -> str:
        stage = self.run.stages[declared["name"]]
        for condition in (declared.get("beforeEntry") or {}).get("conditions", []):
            checked = ConditionRun(result=condition["result"], rules=[])
            stage.entry.append(checked)
            for rule in condition.get("rules", []):
                try:
                    passed, detail, configuration = check_variable(rule.get("configuration") or {},
                                                                   self.run.namespaces)
                except VariableError as error:
                    stage.status, stage.error = "Failed", f"entry rule {rule.get('name')}: {error}"
                    return stage.status
                checked.rules.append(RuleRun(rule.get("name", ""), "VariableCheck", configuration, passed, detail))
            if not checked.met:
                failed = ", ".join(r.name for r in checked.rules if not r.passed)
                if checked.result == "SKIP":
                    stage.status, stage.error = "Skipped", f"entry condition not met ({failed}): skipped"
                    for action in stage.actions.values():
                        action.status = "Skipped"
                else:
                    stage.status, stage.error = "Failed", f"entry condition not met ({failed}): failed"
                return stage.status
        actions = sorted(declared.get("actions", []), key=lambda a: int(a.get("runOrder", 1)))
        for _, group in itertools.groupby(actions, key=lambda a: int(a.get("runOrder", 1))):
            statuses = [self.action(declared["name"], action) for action in group]
            if "Failed" in statuses:
                failed = [a.name for a in stage.actions.values() if a.status == "Failed"]
                stage.status, stage.error = "Failed", f"action {', '.join(failed)} failed"
                return stage.status
            if "Waiting" in statuses:
                stage.status = "Waiting"
                return stage.status
        stage.status = "Succeeded"
        return stage.status

    def action(self, stage_name: str, declared: Mapping[str, Any]) -> str:
        action = self.run.stages[stage_name].actions[declared["name"]]
        started = time.perf_counter()
        try:
            if time.monotonic() > self.deadline:
                raise _ActionFailed(f"the run's timeout ({self.timeout:.0f} s) has passed")
            action.configuration = {str(k): str(v) for k, v in (declared.get("configuration") or {}).items()}
            category = action.category
            if category == "Source":
                self.source(action, declared)
            elif category in BUILD_CATEGORIES:
                self.codebuild(action, declared)
            else:
                self.approval(action)
            if action.status == "Succeeded" and action.namespace:
                self.run.namespaces[action.namespace] = dict(action.variables)
        except _ActionFailed as failure:
            action.status, action.error = "Failed", str(failure)
        finally:
            action.seconds = time.perf_counter() - started
        return action.status

    def _resolved_configuration(self, action: ActionRun, skip: tuple[str, ...] = ()) -> dict[str, str]:
        try:
            return {key: value if key in skip else resolve(value, self.run.namespaces)
                    for key, value in action.configuration.items()}
        except VariableError as error:
            raise _ActionFailed(str(error)) from None

    def source(self, action: ActionRun, declared: Mapping[str, Any]) -> None:
        action.configuration = self._resolved_configuration(action)
        git = _is_git_top(self.source_dir)
        files = _source_files(self.source_dir, git)
        action.variables = _source_variables(self.source_dir, files, git, declared)
        action.variables.update(self.source_variables)
        for name in action.output_artifacts:
            if (self.run.workspace / name).exists():  # a workspace used before: this run's artifact only
                shutil.rmtree(self.run.workspace / name)
            _copy_files(self.source_dir, files, self.run.workspace / name)
            self.run.artifacts[name] = self.run.workspace / name
            self.revisions[name] = action.variables["CommitId"]
        action.status = "Succeeded"

    def approval(self, action: ActionRun) -> None:
        action.configuration = self._resolved_configuration(action)
        if self.approve is None:
            action.status = "Waiting"
            self.run.waited = (action.stage, action.name)
            return
        action.approved = bool(self.approve(action.stage, action.name, dict(action.configuration)))
        if not action.approved:
            raise _ActionFailed("rejected")
        action.status = "Succeeded"

    def codebuild(self, action: ActionRun, declared: Mapping[str, Any]) -> None:
        action.configuration = self._resolved_configuration(action, skip=("EnvironmentVariables",))
        configuration = action.configuration
        project_name = configuration.get("ProjectName", "")
        project = self.projects.get(project_name)
        if project is None:
            raise _ActionFailed(f"CodeBuild project {project_name} not found in {self.account_id} {self.region}")
        what = f"action {action.name}"
        action_variables = []
        for variable in _action_environment_declared(configuration, what):
            try:
                action_variables.append((resolve(str(variable["name"]), self.run.namespaces),
                                         resolve(str(variable.get("value", "")), self.run.namespaces)))
            except VariableError as error:
                raise _ActionFailed(f"EnvironmentVariables: {error}") from None
        if "EnvironmentVariables" in configuration:  # recorded resolved, as the rest of the configuration
            configuration["EnvironmentVariables"] = json.dumps(
                [{"name": name, "value": value, "type": "PLAINTEXT"} for name, value in action_variables])
        for name in action.input_artifacts:
            if name not in self.run.artifacts:
                raise _ActionFailed(f"input artifact {name} was not produced in this run")
        primary = configuration.get("PrimarySource") or (action.input_artifacts[0] if action.input_artifacts else None)

        build_uuid = str(uuid.uuid4())
        build_id = f"{project_name}:{build_uuid}"
        action.build_id = build_id
        home = self.action_dirs / f"{action.stage}.{action.name}"
        if home.exists():
            shutil.rmtree(home)
        src = home / "src"
        if primary:
            shutil.copytree(self.run.artifacts[primary], src, symlinks=True)
        else:
            src.mkdir(parents=True)
        secondary = {}
        for name in action.input_artifacts:
            if name != primary:
                secondary[name] = home / f"src_{name}"
                shutil.copytree(self.run.artifacts[name], secondary[name], symlinks=True)
        (home / "home").mkdir()

        spec = self._buildspec(project, src)
        action.role_arn = str(project["serviceRole"])
        try:
            assumed = self.session.client("sts", endpoint_url=self.org.endpoint).assume_role(
                RoleArn=action.role_arn, RoleSessionName=f"AWSCodeBuild-{build_uuid}")
        except ClientError as error:
            raise _ActionFailed(f"CodeBuild could not assume {action.role_arn}: {error}") from None
        credentials = assumed["Credentials"]
        action.session_arn = str(assumed["AssumedRoleUser"]["Arn"])

        environment = {"PATH": IMAGE_PATH}
        for variable in project.get("environment", {}).get("environmentVariables", []):
            environment[str(variable["name"])] = str(variable.get("value", ""))
        environment.update(action_variables)
        number = next(_build_numbers.setdefault(str(project["arn"]), itertools.count(1)))
        region, account = self.region, self.account_id
        environment.update({
            "CODEBUILD_SRC_DIR": str(src),
            **{f"CODEBUILD_SRC_DIR_{name}": str(path) for name, path in secondary.items()},
            "CODEBUILD_BUILD_ID": build_id,
            "CODEBUILD_BUILD_ARN": f"arn:aws:codebuild:{region}:{account}:build/{build_id}",
            "CODEBUILD_BUILD_NUMBER": str(number),
            "CODEBUILD_BUILD_URL": f"https://{region}.console.aws.amazon.com/codesuite/codebuild/{account}/projects/"
                                   f"{project_name}/build/{quote(build_id, safe='')}/?region={region}",
            "CODEBUILD_BUILD_IMAGE": str(project.get("environment", {}).get("image", "")),
            "CODEBUILD_INITIATOR": f"codepipeline/{self.run.pipeline_name}",
            "CODEBUILD_RESOLVED_SOURCE_VERSION": self.revisions.get(primary or "", ""),
            "CODEBUILD_START_TIME": str(int(time.time() * 1000)),
            "CODEBUILD_KMS_KEY_ID": str(project.get("encryptionKey", "")),
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
            "AWS_ENDPOINT_URL": self.org.endpoint,
            "HOME": str(home / "home"),
        })
        environment.update(self.environment)
        action.environment = environment

        project_timeout = float(project.get("timeoutInMinutes") or 60) * 60
        remaining = max(1.0, min(project_timeout, self.deadline - time.monotonic()))
        try:
            build = run_buildspec(spec, src, environment, timeout=remaining, echo=self.echo)
        except subprocess.TimeoutExpired as expired:
            raise _ActionFailed(f"build {build_id} timed out after {expired.timeout:.0f} s") from None
        except BuildspecError as error:
            raise _ActionFailed(f"build {build_id}: {error}") from None
        action.build = build
        if not build.succeeded:
            failed = [phase for phase, status in build.phases.items() if status == "FAILED"]
            raise _ActionFailed(f"build {build_id} failed in {', '.join(failed)}")
        self._output_artifacts(action, build, primary)
        action.variables = dict(build.exported)
        action.status = "Succeeded"

    def _buildspec(self, project: Mapping[str, Any], src: Path) -> dict[str, Any] | Path:
        """The project's buildspec: inline text, or a file of the primary source (buildspec.yml when none)."""
        text = str(project.get("source", {}).get("buildspec") or "")
        try:
            parsed = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            parsed = None
        if isinstance(parsed, dict):
            try:
                return parse_buildspec(text, f"project {project['name']} inline buildspec")
            except BuildspecError as error:
                raise _ActionFailed(str(error)) from None
        path = src / (text.strip() or "buildspec.yml")
        if not path.is_file():
            raise _ActionFailed(f"project {project['name']}: no buildspec {text.strip() or 'buildspec.yml'} "
                                "in the primary source (CodeBuild: YAML_FILE_ERROR)")
        return path

    def _output_artifacts(self, action: ActionRun, build: BuildRun, primary: str | None) -> None:
        outputs = action.output_artifacts
        for name in outputs:
            key = "" if len(outputs) == 1 else name
            files = build.artifact_sets.get(key)
            if files is None:
                section = "artifacts.files" if key == "" else f"artifacts.secondary-artifacts.{name}"
                raise _ActionFailed(f"output artifact {name}: the buildspec has no {section}")
            if not files:
                raise _ActionFailed(f"output artifact {name}: no matching artifact paths found")
            destination = self.run.workspace / name
            if destination.exists():
                shutil.rmtree(destination)
            for relative, path in files.items():
                target = destination / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target, follow_symlinks=False)
            self.run.artifacts[name] = destination
            self.revisions[name] = self.revisions.get(primary or "", "")


class _ActionFailed(Exception):
    """The action fails, as in CodePipeline: recorded, the run goes no further."""


def run_pipeline(
    org: OrgLike,
    pipeline_name: str,
    source_dir: Path,
    *,
    account: str,
    region: str,
    approve: Approver | None = None,
    trigger: str | Trigger = "manual",
    environment: Mapping[str, str] | None = None,
    source_variables: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
    workspace: Path | None = None,
    timeout: float = 600.0,
    echo: bool = False,
) -> PipelineRun:
    """Run one execution of ``pipeline_name`` (in ``account``, a name of ``org.accounts`` or an id, and
    ``region``) on the checkout ``source_dir``.

    ``approve(stage, action, resolved configuration) -> bool`` answers manual approvals (None: the run
    waits at the first one). ``trigger``: "manual", "schedule", "event", "commit" or a Trigger (module
    docstring). ``environment``: added last to every build's environment (e.g. PATH with the test venv,
    ORGIAM_SKIP_INSTALL=1). ``source_variables``: added to or overriding the source action's variables.
    ``variables``: the pipeline's V2 variables for this execution. ``workspace``: where artifacts and
    builds go (a new temporary directory by default; it is kept: ``PipelineRun.workspace``). ``timeout``:
    seconds for the whole run; an action that would start later fails, and each build command gets what
    is left. ``echo``: print the builds' output as they run.

    Raises PipelineRunnerError for what cannot be run as CodePipeline would (unsupported providers,
    conditions, variable types; a trigger that cannot be recorded) before the execution starts.
    """
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    source_dir = Path(source_dir).resolve()
    if not source_dir.is_dir():
        raise PipelineRunnerError(f"source_dir {source_dir} is not a directory")
    account_id = org.accounts.get(account, account)
    session = org.session(account_id, region)
    codepipeline = session.client("codepipeline", endpoint_url=org.endpoint)
    codebuild = session.client("codebuild", endpoint_url=org.endpoint)

    answer = codepipeline.get_pipeline(name=pipeline_name)
    declaration, metadata = answer["pipeline"], answer.get("metadata", {})
    project_names = sorted({str((a.get("configuration") or {}).get("ProjectName")) for a in _actions(declaration)
                            if a["actionTypeId"]["provider"] == "CodeBuild"})
    projects: dict[str, dict[str, Any] | None] = dict.fromkeys(project_names)
    if project_names:
        for project in codebuild.batch_get_projects(names=project_names)["projects"]:
            projects[project["name"]] = project
    _check_declaration(declaration, projects)

    declared_variables = {v["name"]: str(v.get("defaultValue", "")) for v in declaration.get("variables", [])}
    unknown = sorted(set(variables or {}) - set(declared_variables))
    if unknown:
        raise PipelineRunnerError(f"{pipeline_name} declares no variables {', '.join(unknown)}")
    pipeline_variables = {**declared_variables, **dict(variables or {})}
    pipeline_arn = metadata.get("pipelineArn") or f"arn:aws:codepipeline:{region}:{account_id}:{pipeline_name}"
    chosen = resolve_trigger(trigger, session, org.endpoint, declaration, pipeline_arn)
    if chosen.type != "StartPipelineExecution" and not _emulator_in_process(account_id, region, pipeline_name):
        raise PipelineRunnerError(
            f"the emulator at {org.endpoint} does not run in this process: the trigger {chosen.type} cannot be "
            "recorded (run it with emulator.server.EmulatorServer in this process, or use trigger='manual')")

    start_arguments: dict[str, Any] = {"name": pipeline_name}
    if variables:
        start_arguments["variables"] = [{"name": k, "value": v} for k, v in variables.items()]
    execution_id = codepipeline.start_pipeline_execution(**start_arguments)["pipelineExecutionId"]
    execution = _adopt_execution(account_id, region, pipeline_name, execution_id, chosen)
    _set_execution_status(execution, "InProgress")

    workspace = Path(workspace) if workspace is not None else Path(tempfile.mkdtemp(prefix="pipeline-run-"))
    workspace.mkdir(parents=True, exist_ok=True)
    stages = {
        stage["name"]: StageRun(stage["name"], {
            a["name"]: ActionRun(
                stage=stage["name"], name=a["name"], category=a["actionTypeId"]["category"],
                provider=a["actionTypeId"]["provider"], run_order=int(a.get("runOrder", 1)),
                namespace=a.get("namespace"), input_artifacts=[i["name"] for i in a.get("inputArtifacts", [])],
                output_artifacts=[o["name"] for o in a.get("outputArtifacts", [])],
                configuration={str(k): str(v) for k, v in (a.get("configuration") or {}).items()},
            ) for a in stage.get("actions", [])})
        for stage in declaration.get("stages", [])
    }
    run = PipelineRun(pipeline_name=pipeline_name, account_id=account_id, region=region, execution_id=execution_id,
                      trigger=chosen, stages=stages, workspace=workspace, declaration=declaration)
    run.namespaces["codepipeline"] = {"PipelineExecutionId": execution_id}
    run.namespaces["variables"] = pipeline_variables
    runner = _Run(org, account_id, region, session, run, projects, source_dir, dict(source_variables or {}),
                  approve, dict(environment or {}), deadline, timeout, echo)

    status = "Succeeded"
    try:
        for declared in declaration.get("stages", []):
            stage_status = runner.stage(declared)
            if stage_status == "Failed":
                status, run.error = "Failed", f"stage {declared['name']}: {run.stages[declared['name']].error}"
                break
            if stage_status == "Waiting":
                status = "Waiting"
                break
    except BaseException as error:  # the runner's own failure: the execution does not stay InProgress
        _set_execution_status(execution, "Failed", f"pipeline runner: {type(error).__name__}: {error}")
        raise
    run.status = status
    run.seconds = time.perf_counter() - started
    _set_execution_status(execution, "InProgress" if status == "Waiting" else status, run.error)
    return run
