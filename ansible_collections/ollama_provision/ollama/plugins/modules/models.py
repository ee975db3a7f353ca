#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: the ollama-provision contributors
# MIT License (see https://opensource.org/licenses/MIT)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: models
short_description: Keep the models of an Ollama server in line with a manifest
version_added: "0.1.0"
description:
  - >-
    Converges one Ollama server to a models-as-code manifest with the C(ollama-provision)
    Python API, the same pipeline as C(ollama-provision apply) (observe the server, plan,
    then pull, create, copy, warm or delete only what differs).
  - In check mode it only plans (C(ollama-provision plan)); no request that changes the
    server is sent.
  - In diff mode the plan is shown as C(ollama-provision plan) prints it.
  - A model that cannot be converged fails the task on that host only, with one line
    naming the model; models that do not depend on it are still converged.
requirements:
  - The C(ollama-provision) package (Python 3.10 or newer) importable by the managed host's
    Python (set C(ansible_python_interpreter) to the Python it is installed in).
options:
  manifest:
    description:
      - Path of a manifest file on the managed host. A lock file beside it
        (C(<stem>.lock.json)) is read as C(ollama-provision) reads it.
      - Exactly one of O(manifest) and O(models) is required.
    type: path
  models:
    description:
      - The models, inline; the same schema as a manifest's C(models:) list, validated
        with the same messages.
      - Relative paths in it (Modelfiles, weights) resolve from the module's working
        directory; write absolute ones, for example with C({{ playbook_dir }}).
    type: list
    elements: dict
  host:
    description:
      - The Ollama server's URL. Default, as for the CLI, the manifest's C(server.host),
        else C(OLLAMA_HOST) on the managed host, else C(http://127.0.0.1:11434).
    type: str
  prune:
    description:
      - Delete models on the server that the manifest does not declare (C(true)), or not
        (C(false)). Default, the manifest's C(prune.enabled).
      - Deleting undeclared models also needs O(allow_deletions).
    type: bool
  allow_deletions:
    description:
      - Consent to the deletions pruning plans (the CLI's C(--yes)). Without it a plan
        that prunes fails the task before anything changes.
    type: bool
    default: false
  check_updates:
    description:
      - Ask the registries whether present models' tags moved, and pull those that did.
    type: bool
    default: false
  locked:
    description:
      - Refuse to change anything that differs from the manifest's lock file. Needs
        O(manifest) (inline O(models) have no lock file).
    type: bool
    default: false
  parallel:
    description:
      - How many actions run at once.
    type: int
    default: 2
attributes:
  check_mode:
    support: full
    description: Plans only; no request that changes the server is sent.
  diff_mode:
    support: full
    description: The plan, as C(ollama-provision plan) prints it.
notes:
  - The task reports C(changed) only for pulls, creates, copies and deletions; loading
    a model into memory (C(warm)) is never a change.
author:
  - ollama-provision contributors (@ollama-provision)
"""

EXAMPLES = r"""
- name: Converge the server to the manifest
  ollama_provision.ollama.models:
    manifest: /etc/ollama/models.yaml
    host: "{{ ollama_host }}"

- name: Inline models
  ollama_provision.ollama.models:
    host: http://gpu-1:11434
    models:
      - name: llama3.2
      - name: qwen2.5-coder:7b
        warm: true
        keep_alive: 1h

- name: Remove every model the manifest does not declare
  ollama_provision.ollama.models:
    manifest: /etc/ollama/models.yaml
    prune: true
    allow_deletions: true

- name: Report drift without changing anything
  ollama_provision.ollama.models:
    manifest: /etc/ollama/models.yaml
    check_updates: true
  check_mode: true
  register: plan
"""

RETURN = r"""
actions:
  description:
    - What the run did (or, in check mode, would do), in order. Failures found while
      planning are actions C(check).
  returned: always
  type: list
  elements: dict
  contains:
    model:
      description: The model's full name.
      type: str
      sample: "registry.example:5000/team/tiny:v1"
    action:
      description: C(pull), C(create), C(copy), C(warm), C(delete) or C(check).
      type: str
      sample: pull
    reason:
      description: Why, in the words of C(ollama-provision plan).
      type: str
      sample: missing
    outcome:
      description: C(planned) in check mode, else C(done), C(failed) or C(skipped).
      type: str
      sample: done
    error:
      description: Why it failed or was skipped.
      type: str
      returned: when the outcome is C(failed) or C(skipped)
drifts:
  description:
    - How the server differed from the manifest before this run, undeclared models
      (kind C(extra)) included.
  returned: always
  type: list
  elements: dict
  contains:
    model:
      description: The model's full name.
      type: str
    kind:
      description: >-
        C(missing), C(digest-mismatch), C(outdated), C(definition-changed),
        C(alias-stale), C(unwanted) or C(extra).
      type: str
    expected:
      description: What the manifest wants (a digest), when it says.
      type: str
    actual:
      description: What the server has, when it says.
      type: str
    detail:
      description: More about it, when there is more.
      type: str
in_sync:
  description: Declared models that needed nothing.
  returned: when the server was reached
  type: list
  elements: str
server_version:
  description: The Ollama version the server reports.
  returned: when the server was reached
  type: str
  sample: 0.11.4
msg:
  description: One line; on failure, what failed, which model and what to do.
  returned: always
  type: str
  sample: "plan: 1 to add, 0 to change, 0 to replace, 0 to delete"
problems:
  description: Every problem found in the manifest (RV(msg) holds the first).
  returned: when the manifest is invalid
  type: list
  elements: str
"""

import os
import sys
import traceback

from ansible.module_utils.basic import AnsibleModule

try:
    import provisioner
    from provisioner import secrets
    from provisioner.reconcile.actions import Warm, reason
    from provisioner.views import text
except ImportError:
    IMPORT_ERROR = traceback.format_exc()
else:
    IMPORT_ERROR = None

INLINE = "<models>"  # the name positions in inline models go by


def _run(module):
    params = module.params
    manifest = _manifest(module)
    if module.check_mode:
        plan = provisioner.plan(
            manifest,
            host=params["host"],
            check_updates=params["check_updates"],
            prune=params["prune"],
            locked=params["locked"],
        )
        actions = [_planned(action) for action in plan.actions]
        actions = [_check(f.model, f.message) for f in plan.failures] + actions
        return plan, actions, bool(plan.changes)
    made = []
    results = provisioner.apply(
        manifest,
        host=params["host"],
        parallel=params["parallel"],
        allow_deletions=params["allow_deletions"],
        check_updates=params["check_updates"],
        prune=params["prune"],
        locked=params["locked"],
        on_plan=made.append,
    )
    actions = [_done(result) for result in results]
    changed = any(
        r.outcome == "done" and r.action is not None and not isinstance(r.action, Warm)
        for r in results
    )
    return made[0], actions, changed


def _manifest(module):
    params = module.params
    if params["manifest"] is not None:
        return provisioner.load(params["manifest"])
    if params["locked"]:
        module.fail_json(
            msg="locked needs a manifest file (its lock sits beside it); "
            "use manifest: instead of inline models:"
        )
    try:
        return provisioner.loads(
            {"version": 1, "models": params["models"]}, source=INLINE, base_dir=os.getcwd()
        )
    except provisioner.ManifestError as e:
        problems = [_inline_problem(p) for p in e.problems]
        more = " (and %d more)" % (len(problems) - 1) if len(problems) > 1 else ""
        module.fail_json(msg=problems[0] + more, problems=problems)
    return None  # not reached: fail_json exits


def _inline_problem(problem):
    """Inline models were written out as JSON the user never sees: name the place in the
    models option (models[1].name) instead of a line and column of that text."""
    where = "models"
    for part in problem.path.split("/")[2:]:
        where += "[%s]" % part if part.isdigit() else ".%s" % part
    return "%s: %s" % (where, problem.message)


def _planned(action):
    return {"model": action.model.display, "action": action.kind, "reason": reason(action),
            "outcome": "planned"}


def _check(model, message):
    return {"model": model.display, "action": "check", "reason": message, "outcome": "failed",
            "error": message}


def _done(result):
    if result.action is None:
        return _check(result.model, result.error or "failed")
    entry = {"model": result.model.display, "action": result.kind,
             "reason": reason(result.action), "outcome": result.outcome}
    if result.error:
        entry["error"] = result.error
    return entry


def _drift(drift):
    entry = {"model": drift.model.display, "kind": drift.kind}
    for key in ("expected", "actual", "detail"):
        if getattr(drift, key) is not None:
            entry[key] = getattr(drift, key)
    return entry


def _plan_text(plan):
    """The plan as `ollama-provision plan -v` prints it, without the server line."""
    lines = ["ollama %s" % plan.server_version]
    lines += ["  ! fail   %s  (%s)" % (f.model.display, f.message) for f in plan.failures]
    lines += [text.action_line(action) for action in plan.actions]
    lines += text.extras_lines(plan, verbose=True)
    if plan.actions:
        lines.append(text.plan_counts(plan))
    elif not plan.failures:
        lines.append("in sync: %d model(s) declared and present, nothing to do" % len(plan.in_sync))
    return "\n".join(lines) + "\n"


def _failure(actions):
    """One line naming every model that failed (a skip is only a consequence)."""
    failed = ["%s: %s" % (a["model"], a["error"]) for a in actions if a["outcome"] == "failed"]
    return "; ".join(failed)


def _summary(plan, actions, check_mode):
    if not plan.actions:
        return "in sync: %d model(s) declared and present" % len(plan.in_sync)
    if check_mode:
        return text.plan_counts(plan)
    return "apply: %d done" % sum(a["outcome"] == "done" for a in actions)


def _masked(value):
    if isinstance(value, str):
        return secrets.mask(value)
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, dict):
        return dict((k, _masked(v)) for k, v in value.items())
    return value


def main():
    module = AnsibleModule(
        argument_spec=dict(
            manifest=dict(type="path"),
            models=dict(type="list", elements="dict"),
            host=dict(type="str"),
            prune=dict(type="bool"),
            allow_deletions=dict(type="bool", default=False),
            check_updates=dict(type="bool", default=False),
            locked=dict(type="bool", default=False),
            parallel=dict(type="int", default=2),
        ),
        mutually_exclusive=[("manifest", "models")],
        required_one_of=[("manifest", "models")],
        supports_check_mode=True,
    )
    if IMPORT_ERROR is not None:
        module.fail_json(
            msg="the Python running this module (%s) cannot import ollama-provision; install "
            "it there (Python 3.10+), or point ansible_python_interpreter at the Python that "
            "has it" % sys.executable,
            exception=IMPORT_ERROR,
        )
    try:
        plan, actions, changed = _run(module)
    except provisioner.ProvisionError as e:
        # the API's words for a Python caller; a playbook sets an option
        msg = str(e).replace("pass allow_deletions=True", "set allow_deletions: true")
        module.fail_json(msg=_masked(msg), changed=False, actions=[], drifts=[])
    except Exception as e:  # a bug, not a user error: still one line, the trace for -vvv
        module.fail_json(
            msg=_masked("ollama-provision failed unexpectedly: %s: %s" % (type(e).__name__, e)),
            exception=traceback.format_exc(),
        )
    result = dict(
        changed=changed,
        actions=actions,
        drifts=[_drift(d) for d in plan.drifts],
        in_sync=[name.display for name in plan.in_sync],
        server_version=plan.server_version,
    )
    if module._diff:
        result["diff"] = {"prepared": _plan_text(plan)}
    failure = _failure(actions)
    if failure:
        module.fail_json(msg=_masked(failure), **_masked(result))
    result["msg"] = _summary(plan, actions, module.check_mode)
    module.exit_json(**_masked(result))


if __name__ == "__main__":
    main()
