#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the role_inputs action, which runs on the controller only (plugins/action/role_inputs.py)."""

from __future__ import annotations

DOCUMENTATION = r'''
module: role_inputs
short_description: Type and check a role's variables from any source, before the role's first write
version_added: 0.1.0
description:
  - Reads every variable of a role's argument spec from the task's variables, types it as the spec declares, checks it, and
    returns the typed values. A role registers the result and reads its variables from there, for example
    C(factory_onboarding_in.chunk_size).
  - ansible-core's own role argument validation converts a value only to check it and leaves the variable as given, and
    extra vars cannot be replaced with C(set_fact). So C(-e factory_onboarding_naocloud_enabled=false) stays the text
    V(false), which is true in a condition, and a dict given with C(-e) stays text. With this action the same typed values
    come from C(-e key=value), C(-e @file) (YAML or JSON), a JSON C(-e), inventory variables and AWX survey answers.
  - "Types: V(bool) from V(true)/V(false), V(yes)/V(no), V(on)/V(off), V(1)/V(0) in any case; V(int) and V(float) from text
    (a boolean is not a number); V(list) from a list, a JSON list, or text whose lines (an AWX multiselect answer) or
    comma-separated parts are the items; V(dict) from a mapping, a JSON object or C(key=value key2=value2); V(path) with
    C(~) expanded; V(str) from numbers (a list or a mapping is not text). C(elements) and C(options) are typed the same
    way, recursively; C(choices), C(required) and the spec's C(default) for a variable that is not defined apply too."
  - ansible-core's own ArgumentSpecValidator does the conversions it has (bool, int, float, dict, path, str), C(choices),
    C(required) and C(default), one value at a time. This action adds the lists from text, refuses what ansible-core would
    let through (a boolean as a number, a list or mapping as text, infinity), descends into C(elements) and C(options),
    applies O(rules), and words the problems.
  - A variable that is not defined, or is null, takes the spec's default. A suboption without value and without default is
    left out, so an empty dict stays empty.
  - 'Every problem is found in one run, and the task fails with all of them. Each names the variable with its prefix, what is
    wrong with the value, and the rule, for example V(factory_onboarding_chunk_size: "ten" is not an integer). The value of a
    variable (or suboption) whose spec has C(no_log: true) is never shown; the message says V(the value) instead.'
  - Specs that use C(aliases), C(apply_defaults), C(fallback), C(mutually_exclusive), C(required_if), C(required_one_of),
    C(required_together) or C(required_by) are refused rather than applied in part.
options:
  spec:
    description:
      - Path of the role's argument spec file on the controller, for example C({{ role_path }}/meta/argument_specs.yml).
      - A C(meta/main.yml) with an C(argument_specs) key works as well.
    type: path
    required: true
  entry_point:
    description: The entry point of the spec whose options are read.
    type: str
    default: main
  prefix:
    description:
      - The start of the role's variable names, for example V(factory_onboarding_). Every option of the entry point must start
        with it; the result names each variable without it.
      - A variable whose name without the prefix is a key Ansible gives a meaning in a task result (V(changed), V(failed),
        V(msg), V(skipped), V(diff), V(results), V(invocation), V(problems), names starting with V(ansible_), and others) is
        refused.
    type: str
    default: ''
  rules:
    description:
      - Checks beyond the spec, by variable name without the prefix. They apply to the typed value, or to each item of a list,
        and only when it is set and not empty.
      - V(min) and V(max) - bounds of a number.
      - V(pattern) (a regular expression the whole text must match) with V(rule) (the pattern in words, for the message).
      - V(pem) - V(certificate) for a PEM certificate; V(private_key) for a PEM private key, opened with the passphrase in
        the variable V(passphrase) names, and, when V(certificate) names a variable whose rule is a certificate (or a list of
        such variables, of which the first that is given counts), belonging to that certificate.
      - On a variable of type V(path), V(pem) checks the file the path names, on the controller - that it can be read and
        holds what the rule says -, so a wrong path is refused before the role's first write with the variable's name and the
        path. The content of the file is never shown.
      - V(exclusive) - the name of another variable that must not be given together with this one, such as the PEM of a
        certificate and the path of a file with it.
    type: dict
    default: {}
  fail_on_problems:
    description:
      - With V(true), the task fails with every problem.
      - With V(false), the task does not fail for problems of the values; it returns them in RV(problems), with the typed
        variables that have none, so that a role reports them together with its own in one error. A mistake of the spec or the
        rules still fails the task.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  become:
    support: none
  bypass_host_loop:
    support: none
  connection:
    support: none
  check_mode:
    support: full
    details: It only reads, so it runs the same in check mode.
  delegation:
    support: none
  diff_mode:
    support: none
  platform:
    platforms: all
notes:
  - It runs on the controller and changes nothing, so it always reports C(changed=false).
  - ansible-core validates a role's variables against C(meta/argument_specs.yml) before the role's first task, and stops the
    play there on the values it refuses (for example V(ten) for an integer), with its own messages.
  - A successful result that holds a non-empty C(no_log) value is shown censored, as with C(no_log) on the task; the
    registered variable keeps the values. A failed result leaves the C(no_log) variables out.
seealso:
  - module: ansible.builtin.validate_argument_spec
  - name: Role argument validation
    description: The format of C(meta/argument_specs.yml).
    link: https://docs.ansible.com/ansible/latest/playbook_guide/playbooks_reuse_roles.html#role-argument-validation
author:
  - iotops.provisioning maintainers (@iotops)
'''

EXAMPLES = r'''
# The first tasks of a role: type its variables, then use the typed values
- name: Type and check the role's variables
  iotops.provisioning.role_inputs:
    spec: "{{ role_path }}/meta/argument_specs.yml"
    prefix: factory_onboarding_
    rules:
      chunk_size: {min: 1}
      concurrency: {min: 1, max: 64}
      batch_name:
        pattern: "[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
        rule: 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit
      nrfcloud_ca_certificate: {pem: certificate, exclusive: nrfcloud_ca_certificate_path}
      nrfcloud_ca_certificate_path: {pem: certificate}
      nrfcloud_ca_private_key:
        pem: private_key
        passphrase: nrfcloud_ca_private_key_passphrase
        certificate: [nrfcloud_ca_certificate, nrfcloud_ca_certificate_path]
        exclusive: nrfcloud_ca_private_key_path
      # a path: the file it names is read and checked on the controller
      nrfcloud_ca_private_key_path:
        pem: private_key
        passphrase: nrfcloud_ca_private_key_passphrase
        certificate: [nrfcloud_ca_certificate, nrfcloud_ca_certificate_path]
  register: factory_onboarding_in

- name: Use the typed values (-e factory_onboarding_naocloud_enabled=false is false here)
  ansible.builtin.debug:
    msg: "NAO Cloud tags are registered {{ factory_onboarding_in.chunk_size }} devices per run"
  when: factory_onboarding_in.naocloud_enabled

# Report the problems together with others of one's own, instead of failing at once
- name: Type the variables, keep going on problems
  iotops.provisioning.role_inputs:
    spec: "{{ role_path }}/meta/argument_specs.yml"
    prefix: certificate_rotation_
    fail_on_problems: false
  register: certificate_rotation_in

- name: Stop with every problem
  ansible.builtin.fail:
    msg: "{{ certificate_rotation_in.problems | join('; ') }}"
  when: certificate_rotation_in.problems | length > 0
'''

RETURN = r'''
problems:
  description:
    - Every problem found, each naming the variable with its prefix, the value's trouble and the rule. Empty when there is none.
    - Mistakes of the spec or the rules themselves start with V(role_inputs:).
  returned: always
  type: list
  elements: str
  sample:
    - 'factory_onboarding_chunk_size: "ten" is not an integer'
    - 'factory_onboarding_concurrency: 100 is out of range: from 1 to 64'
msg:
  description: The number of problems and all of them, joined with V(; ).
  returned: failure
  type: str
  sample: '1 problem: factory_onboarding_chunk_size: "ten" is not an integer'
"<name>":
  description:
    - Each variable of the spec, named without the prefix, with its typed value (V(None) when it is neither set nor has a
      default).
    - On failure, only the variables without a problem, and none whose spec has C(no_log).
    - With problems, only the variables without a problem.
  returned: always
  type: raw
  sample: 1000
'''
