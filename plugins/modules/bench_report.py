#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: bench_report
short_description: Write the plots and the markdown report of a picocloud.edge bench run
version_added: 0.1.0
description:
  - Reads one bench run document (JSON, schema C(picocloud.edge.bench.run) version 1) on the controller,
    validates it, computes its statistics and writes into O(dest) the PNG plots that mirror the seed
    papers' figures and C(report.md), which puts the papers' figures beside the site's, row by row, with
    one generated sentence per comparison.
  - Every figure about the site comes from the run document. The only constants are the papers'
    published figures, each with its source.
  - Each PNG carries a C(picocloud.bench) text chunk with the number of points of each series, so a test
    can check that a plot shows exactly the run's samples.
  - A file is replaced only when its content differs, atomically; the same run written twice changes
    nothing.
  - This is an action plugin. It runs on the controller whatever host the task targets, because the run
    file, the output directory and matplotlib are all on the controller. Use it with C(run_once=true).
author:
  - picocloud.edge developers (@picocloud)
attributes:
  action:
    support: full
    description: Runs entirely on the controller; nothing is sent to the target.
  async:
    support: none
    description: Not supported.
  check_mode:
    support: full
    description: Validates the run and renders everything in memory, writes nothing, and reports which
      files would change.
  diff_mode:
    support: partial
    description: Shows the diff of C(report.md); the PNG files are binary and only reported as changed.
  idempotent:
    support: full
    description: The rendering is deterministic for a given run document and matplotlib version.
options:
  src:
    description:
      - Path on the controller of the run document (JSON) the bench playbook wrote.
      - A relative path is taken from the directory C(ansible-playbook) runs in.
    type: path
    required: true
  dest:
    description:
      - Directory on the controller to write C(report.md) and the plots into; created (mode 0755) when
        missing. Files are written with mode 0644.
      - A relative path is taken from the directory C(ansible-playbook) runs in.
    type: path
    required: true
requirements:
  - matplotlib on the controller (pinned in the collection's requirements.txt).
notes:
  - An invalid run document fails the task before anything is written; RV(problems) lists every problem with
    its path in the document, for example C(experiments.storm.samples[3].running_at).
  - Percentiles of launch and start times are nearest-rank (every percentile is a measured sample); the
    serving steps' percentiles are the ones ab printed. See docs/bench.md.
seealso:
  - name: The bench documentation
    description: What each experiment measures, the run document's schema and how to read each plot.
    link: https://example.invalid/picocloud/edge/blob/main/docs/bench.md
'''

EXAMPLES = r'''
- name: Write the report of this run beside its JSON
  picocloud.edge.bench_report:
    src: "{{ picocloud_secrets_dir }}/bench/20261204T101500Z/run.json"
    dest: "{{ picocloud_secrets_dir }}/bench/20261204T101500Z"
  run_once: true
  register: bench_report

- name: Show the comparisons
  ansible.builtin.debug:
    msg: "{{ bench_report.sentences.storm }}"
  run_once: true

- name: The storm plot shows one point per container that ran
  ansible.builtin.assert:
    that:
      - (bench_report.plots | selectattr('path', 'search', 'storm_cdf') | first).series['your site'] == bench_report.stats.storm.ok
  run_once: true
'''

RETURN = r'''
run_id:
  description: The run's id, from the run document.
  returned: success
  type: str
  sample: 20261204T101500Z
dest:
  description: The absolute output directory.
  returned: success
  type: str
  sample: /home/op/.picocloud/pico/bench/20261204T101500Z
report:
  description: Path of the markdown report.
  returned: success
  type: str
  sample: /home/op/.picocloud/pico/bench/20261204T101500Z/report.md
files:
  description: Every output file with whether it differs from what O(dest) held (in check mode, would differ).
  returned: success
  type: list
  elements: dict
  sample: [{path: /home/op/.picocloud/pico/bench/20261204T101500Z/report.md, changed: true}]
written:
  description: The files actually written; empty in check mode and when nothing changed.
  returned: success
  type: list
  elements: str
plots:
  description: Each plot with its title, its number of points per series and the papers' reference lines
    drawn in it (the same data as the PNG's C(picocloud.bench) chunk).
  returned: success
  type: list
  elements: dict
  sample:
    - path: /home/op/.picocloud/pico/bench/20261204T101500Z/storm_cdf.png
      title: 'Launch storm: distribution of launch times'
      series: {your site: 250}
      references: ['paper mean, VM cluster (472 ms)']
stats:
  description:
    - The statistics of the run, by experiment (C(storm), C(density), C(start_latency), C(serving),
      C(footprint)); absent experiments are absent.
    - C(storm) has C(count), C(ok), C(failed), C(total_s), C(launch_ms) (C(count), C(mean), C(p50), C(p95),
      C(p99), C(max)), C(per_node) and the runner's own C(observe_lag_ms) and C(refill_gap_ms).
  returned: success
  type: dict
sentences:
  description: The report's generated comparison sentences, by experiment.
  returned: success
  type: dict
  sample:
    storm: ["Your storm took 61.2 s for 250 containers, 1.2x the VM cluster's 49 s; your mean launch time of 512 ms is 1.1x its 472 ms."]
problems:
  description: Every problem found in an invalid run document, each with its path.
  returned: when the run document is invalid
  type: list
  elements: str
  sample: ["experiments.storm.samples: has 19 samples but parameters.count is 20; every launch request, failed or not, needs its sample"]
'''
