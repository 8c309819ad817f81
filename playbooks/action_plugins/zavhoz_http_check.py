# Zavhoz: one HTTP request from the daemon's machine, judged by its status code; the deploy's health check of each
# module. An action plugin, so it runs inside Ansible's own worker on the daemon's machine: `ansible.builtin.uri`
# delegated to localhost starts a Python of its own for every try, which cost a deploy about half a second (issue 13).
# Standard library and Ansible only.
#
# Arguments: url (http or https), status_code (the list of statuses that pass), timeout (seconds, default 5).
# Redirects of a GET are followed, as `uri` does; the status judged is the last one. Proxies in the environment are
# not used: the check is of the server itself. Result: status (0 when no answer came), url, msg; failed unless the
# status is in status_code.
from __future__ import annotations

import socket
import urllib.error
import urllib.request

from ansible.plugins.action import ActionBase

DOCUMENTATION = """
    name: zavhoz_http_check
    short_description: one HTTP GET from the controller, passed when its status is one of status_code
    options:
      url: {description: the address to request, required: true, type: str}
      status_code: {description: the statuses that pass, required: true, type: list, elements: int}
      timeout: {description: seconds to wait for the answer, default: 5, type: int}
"""

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("url", "status_code", "timeout"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        url = str(args.get("url", ""))
        accepted = {int(code) for code in args.get("status_code", [])}
        timeout = float(args.get("timeout", 5))
        result.update(changed=False, url=url)
        if not url.startswith(("http://", "https://")):
            result.update(failed=True, status=0, msg="Zavhoz: the health check address %r is not an http(s) URL." % url)
            return result
        try:
            with _OPENER.open(urllib.request.Request(url, method="GET"), timeout=timeout) as answer:
                status = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
        except (urllib.error.URLError, socket.timeout, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            result.update(failed=True, status=0, msg="Request failed: %s" % reason)
            return result
        result["status"] = status
        if status in accepted:
            result["msg"] = "OK (HTTP %d)" % status
        else:
            result.update(failed=True, msg="Status code was %d and not one of the accepted ones" % status)
        return result
