# Zavhoz: tells the daemon which step of a deploy each task belongs to. Every task of deploy_project.yml declares
# its step with a tag `step_<name>`; this plugin prints one JSON line per task start and per task result, with that
# step, so the daemon's step reporting never depends on what a task is called. Enabled by the run's ansible.cfg
# (callbacks_enabled); the default output stays as it is beside it. Standard library and Ansible only.
#
# A line: `ZAVHOZ_EVENT {"event": "start" | "ok" | "failed" | "skipped" | "unreachable", "task": NAME,
# "step": STEP or null, "ignored": BOOL, "rollback": BOOL}`. Results carry no module output: task names only, never a
# value. `rollback` is true for a task tagged `zavhoz_rollback`: once it ran, the release on the server has changed,
# so its failure is one the daemon rolls back from.
#
# The one exception is a task tagged `zavhoz_report` (a `debug` whose `msg` is the release's facts: the commit and
# the images' digests, never a secret): its ok result also prints `ZAVHOZ_EVENT {"event": "report", "task": NAME,
# "step": STEP, "ignored": false, "rollback": false, "data": MSG}`.
from __future__ import annotations

import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: zavhoz_steps
    type: notification
    short_description: one JSON line per task start and result, with the task's declared deploy step
    description:
      - Prints C(ZAVHOZ_EVENT) followed by a JSON object for every task start and result. The step is the name
        after C(step_) in the task's tags (block tags included).
    requirements:
      - enabled in callbacks_enabled
"""

PREFIX = "ZAVHOZ_EVENT "
STEP_TAG = "step_"
REPORT_TAG = "zavhoz_report"
ROLLBACK_TAG = "zavhoz_rollback"


def _step(task):
    steps = [tag[len(STEP_TAG):] for tag in (task.tags or []) if isinstance(tag, str) and tag.startswith(STEP_TAG)]
    return steps[0] if len(steps) == 1 else None


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "zavhoz_steps"
    CALLBACK_NEEDS_ENABLED = True

    def _emit(self, event, task, ignored=False, **extra):
        fields = {"event": event, "task": task.get_name().strip(), "step": _step(task), "ignored": ignored}
        fields["rollback"] = ROLLBACK_TAG in (task.tags or [])
        fields.update(extra)
        self._display.display(PREFIX + json.dumps(fields))

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._emit("start", task)

    def v2_runner_on_ok(self, result):
        self._emit("ok", result._task)
        if REPORT_TAG in (result._task.tags or []):
            self._emit("report", result._task, data=result._result.get("msg"))

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._emit("failed", result._task, ignored=bool(ignore_errors))

    def v2_runner_on_skipped(self, result):
        self._emit("skipped", result._task)

    def v2_runner_on_unreachable(self, result):
        self._emit("unreachable", result._task)
