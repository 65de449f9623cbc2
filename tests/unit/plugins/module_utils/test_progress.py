# -*- coding: utf-8 -*-
# Copyright: iotops.provisioning contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress: the counts a module writes for the action plugin to show - inert without the file, throttled,
atomic, thread-safe, one per module run, fed by the batch runner - and the line the action makes of them."""

from __future__ import annotations

import json
import os
import threading

import pytest

from ansible_collections.iotops.provisioning.plugins.module_utils import _progress
from ansible_collections.iotops.provisioning.plugins.module_utils._batch import run_batch
from ansible_collections.iotops.provisioning.plugins.module_utils._errors import ConfigError
from ansible_collections.iotops.provisioning.plugins.module_utils._progress import PROGRESS_FILE_ENV, Progress, progress_line, read_progress


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Timers:
    """Stands in for threading.Timer: records each timer made; the test fires it by hand instead of waiting."""

    def __init__(self):
        self.made = []

    def __call__(self, interval, function):
        timer = ManualTimer(interval, function)
        self.made.append(timer)
        return timer


class ManualTimer:

    def __init__(self, interval, function):
        self.interval, self.function = interval, function
        self.started = self.cancelled = False

    def start(self):
        self.started = True

    def cancel(self):
        self.cancelled = True

    def fire(self):
        assert self.started and not self.cancelled
        self.function()


@pytest.fixture
def progress_file(tmp_path, monkeypatch):
    """The progress file named in the environment, as the action plugin does, and no Progress of an earlier test."""
    path = tmp_path / 'progress.json'
    monkeypatch.setenv(PROGRESS_FILE_ENV, str(path))
    monkeypatch.setattr(Progress, '_current', None)
    return path


def read(path):
    with open(path, encoding='utf-8') as stream:
        return json.load(stream)


def test_without_the_environment_variable_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv(PROGRESS_FILE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    progress = Progress(10)
    progress.add(done=3, failed=1)
    progress.set(waiting=2, stage='waiting for devices to connect')
    progress.close()
    assert os.listdir(tmp_path) == []
    assert (progress.done, progress.failed, progress.waiting) == (0, 0, 0)  # inert: not even counted


def test_add_and_set_write_every_field(progress_file):
    progress = Progress(1000, noun='devices', now=lambda: 1767225600.0)
    progress.add(done=1)
    first = read(progress_file)
    assert first == dict(total=1000, done=1, waiting=0, failed=0, stage=None, noun='devices', updated=1767225600.0)
    progress.add(done=2, failed=1)
    progress.set(done=420, waiting=80, stage='waiting for devices to connect', total=1200)
    progress.close()
    last = read(progress_file)
    assert (last['total'], last['done'], last['waiting'], last['failed'], last['stage']) == (
        1200, 420, 80, 1, 'waiting for devices to connect')


def test_writes_are_throttled_and_a_held_back_change_is_written_when_due(progress_file, monkeypatch):
    clock = Clock()
    writes = []
    write = Progress._write  # pylint: disable=protected-access

    def counted(progress):
        writes.append(progress.done)
        write(progress)

    monkeypatch.setattr(Progress, '_write', counted)
    timers = Timers()
    progress = Progress(100, clock=clock, timer=timers)
    for _item in range(50):
        progress.add(done=1)
    assert len(writes) == 1 and read(progress_file)['done'] == 1  # the first at once, the rest held back
    # one timer for all 49 held-back changes, due when the interval since the first write is over
    assert [(t.interval, t.started) for t in timers.made] == [(_progress.MIN_WRITE_INTERVAL, True)]
    clock.now += _progress.MIN_WRITE_INTERVAL
    timers.made[0].fire()
    # the held-back change is written by the timer without any further call, and only once
    assert read(progress_file)['done'] == 50 and len(writes) == 2
    clock.now += 0.2
    progress.set(stage='reading')  # inside the interval again: held back for what is left of it
    assert read(progress_file)['stage'] is None and len(timers.made) == 2
    assert abs(timers.made[1].interval - (_progress.MIN_WRITE_INTERVAL - 0.2)) < 1e-9
    progress.close()
    assert read(progress_file)['stage'] == 'reading' and len(writes) == 3 and timers.made[1].cancelled
    clock.now += _progress.MIN_WRITE_INTERVAL
    progress.add(done=1)  # the interval is over: written at once, no timer
    assert read(progress_file)['done'] == 51 and len(writes) == 4 and len(timers.made) == 2


def test_a_reader_never_sees_half_a_file(progress_file, monkeypatch):
    monkeypatch.setattr(_progress, 'MIN_WRITE_INTERVAL', 0)
    progress = Progress(5000)
    seen, broken, stop = [], [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                with open(progress_file, encoding='utf-8') as stream:
                    text = stream.read()
            except FileNotFoundError:
                continue
            try:
                seen.append(json.loads(text)['done'])
            except ValueError:
                broken.append(text)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _item in range(2000):
            progress.add(done=1, failed=0)
    finally:
        stop.set()
        thread.join()
    progress.close()
    assert broken == [] and len(seen) > 10 and seen == sorted(seen)
    assert os.listdir(progress_file.parent) == ['progress.json']  # no temporary file left behind


def test_eight_threads_count_exactly(progress_file):
    progress = Progress(8000)

    def work():
        for index in range(1000):
            progress.add(done=1, failed=1 if index % 100 == 0 else 0)

    threads = [threading.Thread(target=work) for _thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    progress.close()
    assert (read(progress_file)['done'], read(progress_file)['failed']) == (8000, 80)


def test_current_is_one_object_per_run_and_starts_the_file_at_zero(progress_file):
    first = Progress.current(1000)
    assert read(progress_file)['done'] == 0 and read(progress_file)['total'] == 1000
    first.add(done=5)
    again = Progress.current(900, noun='tags')
    assert again is first and (again.total, again.noun, again.done) == (900, 'tags', 5)
    assert Progress.current() is first and first.total == 900


def test_a_file_that_cannot_be_written_does_not_stop_the_module(tmp_path, monkeypatch):
    monkeypatch.setenv(PROGRESS_FILE_ENV, str(tmp_path / 'gone' / 'progress.json'))
    progress = Progress(3)
    progress.add(done=1)
    progress.close()
    assert progress.path is None and not (tmp_path / 'gone').exists()


def test_the_batch_runner_counts_each_finished_item(progress_file):
    def worker(item):
        if item % 10 == 0:
            raise ConfigError('item %d refused' % item)
        return {'changed': True}

    progress = Progress(100)
    results = run_batch(range(1, 101), worker, concurrency=8, progress=progress)
    progress.close()
    assert len(results) == 100
    assert (read(progress_file)['done'], read(progress_file)['failed']) == (100, 10)


def test_the_line_names_counts_stage_and_elapsed_time(progress_file):
    progress = Progress(1000)
    progress.set(done=420, waiting=80, failed=2, stage='waiting for devices to connect')
    assert progress_line('  [localhost] nrfcloud_provisioning (chunk 2 of 5)', read_progress(progress_file), 40.7) == (
        '  [localhost] nrfcloud_provisioning (chunk 2 of 5): 420 of 1,000 devices done · 80 waiting · 2 failed'
        ' · waiting for devices to connect · 0:40 elapsed')
    assert progress_line('  [h] t', read_progress(progress_file.parent / 'none.json'), 3725) == '  [h] t: started · 1:02:05 elapsed'
    progress_file.write_text('{"total": 10, "do')  # never written so by Progress; read as "nothing yet" all the same
    assert read_progress(progress_file) is None
