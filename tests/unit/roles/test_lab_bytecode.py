# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/lab/files/picocloud_lab_bytecode.py: the lab nodes' cache of what zipimport compiles, run in real Python
processes that import a real zip, as an AnsiballZ module run does."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = os.path.join(HERE, '..', '..', '..', 'roles', 'lab', 'files')

# In a fresh interpreter: count the real compiles, install the cache, import the zip's package and call it.
RUN = r'''
import json, sys, traceback, zipimport
sys.path.insert(0, sys.argv[1])
compiles = []
original = zipimport._compile_source
def counted(pathname, source):
    compiles.append(pathname.rsplit('/', 1)[-1])
    return original(pathname, source)
zipimport._compile_source = counted
import picocloud_lab_bytecode
installed = picocloud_lab_bytecode.install(sys.argv[2])
again = picocloud_lab_bytecode.install(sys.argv[2])
sys.path.insert(0, sys.argv[3])
import zipped.inner
try:
    zipped.inner.fail()
    frames = []
except RuntimeError:
    frames = [frame.filename for frame in traceback.extract_tb(sys.exc_info()[2])]
print(json.dumps({'installed': installed, 'again': again, 'compiles': sorted(compiles),
                  'answer': zipped.inner.ANSWER, 'frames': frames[1:]}))
'''


def make_zip(path, answer=42):
    with zipfile.ZipFile(str(path), 'w') as archive:
        archive.writestr('zipped/__init__.py', '')
        archive.writestr('zipped/inner.py', 'ANSWER = %d\n\n\ndef fail():\n    raise RuntimeError("in the zip")\n' % answer)
    return str(path)


def run(cache_dir, archive):
    proc = subprocess.run([sys.executable, '-c', RUN, FILES, str(cache_dir), archive], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_second_import_from_another_zip_compiles_nothing_and_its_tracebacks_name_the_new_zip(tmp_path):
    cache = tmp_path / 'cache'
    cache.mkdir()
    first = run(cache, make_zip(tmp_path / 'first.zip'))
    assert first['installed'] is True and first['again'] is False
    assert first['compiles'] == ['__init__.py', 'inner.py'] and first['answer'] == 42
    assert len(os.listdir(str(cache))) == 2
    # AnsiballZ writes every module run's zip under a new temporary name
    second_zip = make_zip(tmp_path / 'second.zip')
    second = run(cache, second_zip)
    assert second['compiles'] == [] and second['answer'] == 42
    assert second['frames'] == [os.path.join(second_zip, 'zipped', 'inner.py')]


def test_a_changed_source_is_compiled_again_and_never_served_stale(tmp_path):
    cache = tmp_path / 'cache'
    cache.mkdir()
    run(cache, make_zip(tmp_path / 'old.zip', answer=1))
    changed = run(cache, make_zip(tmp_path / 'new.zip', answer=2))
    assert changed['compiles'] == ['inner.py'] and changed['answer'] == 2
    assert len(os.listdir(str(cache))) == 3


def test_an_unreadable_entry_is_compiled_again_and_replaced(tmp_path):
    cache = tmp_path / 'cache'
    cache.mkdir()
    archive = make_zip(tmp_path / 'one.zip')
    run(cache, archive)
    for name in os.listdir(str(cache)):
        (cache / name).write_bytes(b'not marshal data')
    again = run(cache, archive)
    assert again['compiles'] == ['__init__.py', 'inner.py'] and again['answer'] == 42
    assert run(cache, archive)['compiles'] == []
    assert [name for name in os.listdir(str(cache)) if name.endswith('.tmp')] == []


def test_no_cache_directory_means_no_cache_and_imports_work_as_before(tmp_path):
    missing = tmp_path / 'missing'
    archive = make_zip(tmp_path / 'one.zip')
    for _attempt in range(2):
        result = run(missing, archive)
        assert result['installed'] is False
        # without a cache, Python 3.11's zipimport compiles a module twice: for get_filename() and for get_code()
        assert sorted(set(result['compiles'])) == ['__init__.py', 'inner.py'] and result['answer'] == 42
    assert not missing.exists()
