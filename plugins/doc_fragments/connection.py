# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every module of the collection."""

from __future__ import annotations


class ModuleDocFragment:
    """HTTP connection, TLS and retry options."""

    DOCUMENTATION = r'''
options:
  timeout:
    description:
      - Seconds to wait for the vendor API to accept a connection and to answer a request.
      - If not set, the value of the E(IOTOPS_TIMEOUT) environment variable is used, then V(30).
    type: float
    default: 30
  validate_certs:
    description:
      - Verify the TLS certificate of the vendor API.
      - Set to V(false) only for a test endpoint; the module then warns that the connection can be intercepted.
        Prefer O(ca_path) for a private CA.
      - If not set, the value of the E(IOTOPS_VALIDATE_CERTS) environment variable is used, then V(true).
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file with the CA certificates to trust instead of the system bundle, for example the CA of a TLS-inspecting proxy
        or of the bundled mock server.
      - If not set, the value of the E(IOTOPS_CA_PATH) environment variable is used.
    type: path
  use_proxy:
    description:
      - Use the proxy named by the E(https_proxy), E(http_proxy) and E(no_proxy) environment variables of the controller.
      - If not set, the value of the E(IOTOPS_USE_PROXY) environment variable is used, then V(true).
    type: bool
    default: true
  retries:
    description:
      - How many times a request is retried after a connection error before it reached the server, or an HTTP 408, 502,
        503 or 504 answer. HTTP 429 answers have an allowance of their own, four times this value (see O(rate_limit)).
      - A write whose outcome is unknown (a timeout or a dropped connection after it was sent, or a 502 or 504 from a gateway)
        is never sent again blindly; the module reads the resource back and sends the write again only if it did not happen.
      - If not set, the value of the E(IOTOPS_RETRIES) environment variable is used, then V(5). Range 0 to 20.
    type: int
    default: 5
  retry_max_wait:
    description:
      - The longest wait, in seconds, before a retry. A C(Retry-After) header (seconds or HTTP date) is honoured up to
        this value; without one the wait grows exponentially with jitter up to this value.
      - If not set, the value of the E(IOTOPS_RETRY_MAX_WAIT) environment variable is used, then V(60). Range 0 to 3600.
    type: float
    default: 60
  rate_limit:
    description:
      - The most requests per second this task sends to the vendor account, all its concurrent requests and retries
        together. Requests are spaced evenly at 97 % of it, so that they stay within the budget when threads or the
        network bring some a few milliseconds closer.
      - On an HTTP 429 the module halves its rate (down to 5 % of that), holds every request for the C(Retry-After) the
        vendor sent, then climbs back by 10 % of it per second.
      - An HTTP 429 does not use up O(retries), with or without O(rate_limit); a request is retried after up to four
        times O(retries) 429 answers (20 by default), so a storm of 429s slows the task down instead of failing it.
      - The budget is per task (per module run). Tasks that run at the same time against the same account share the
        vendor's limit, so give each its share. With AWX job slicing, each of N slices is a job of its own running at the
        same time, so set O(rate_limit) to the account's budget divided by N, for example from a job template extra
        variable used in C(module_defaults), or the E(IOTOPS_RATE_LIMIT) environment variable.
      - If not set, the value of the E(IOTOPS_RATE_LIMIT) environment variable is used. V(0) or not set means no limit
        until the vendor answers a 429. If it answered at least 5 requests in the second before, the module paces its
        requests from that many per second, climbing up to twice that until the next 429, whose second before sets the
        budget from then on (no vendor publishes its limits); with fewer answers each refused request waits its
        C(Retry-After) on its own.
    type: float
notes:
  - >-
    The modules call cloud APIs, so run them on the controller (C(hosts: localhost) or C(delegate_to: localhost)).
    Environment variables are read where the module runs, which is why AWX credentials injected as environment reach them there.
  - >-
    A rate budget for a sliced AWX job: the vendor allows the account 20 requests per second and the job template has 4
    slices, so each slice gets 5. Put C(iotops_rate_limit: 5) in the job template's extra variables and
    C(rate_limit: "{{ iotops_rate_limit | default(0) }}") in the play's C(module_defaults) for
    C(group/iotops.provisioning.<vendor>); or set E(IOTOPS_RATE_LIMIT=5) in the environment of the job.
  - >-
    For C(localhost), set C(ansible_python_interpreter: "{{ ansible_playbook_python }}") so the modules run in the Python
    that has C(requests), C(PyJWT) and C(cryptography).
requirements:
  - requests
'''
