# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bytecode cache for the Python code that zipimport compiles, on lab nodes.

Every Ansible module runs from an AnsiballZ zip: Python imports `ansible.module_utils.basic` and the module itself
from that zip, and zipimport cannot keep the bytecode it compiles, so each module run compiles the same sources
again. On a native node that costs about 0.05 s; on an emulated arm64 node, where the compiler runs under
qemu-user, about 0.4 s of a 1.5 s module run (docs/lab.md). This cache keeps the compiled code by the hash of its
source (with the interpreter's bytecode magic and optimisation level), as Python's own __pycache__ does for files
on disk. The code still runs in the node's own Python, and a cache entry that cannot be read or written is compiled
as before.

Installed into the lab's node images with a .pth file (build-node-image.sh), so every Python on a lab node loads
it; real nodes do not carry it.
"""
import marshal
import os
import zipimport

__metaclass__ = type

CACHE_DIR = '/var/cache/picocloud-lab/bytecode'


def _code_type():
    return None


CODE = type(_code_type.__code__)  # types.CodeType, without importing types at every start-up


def retarget(code, filename):
    """The code object with `filename` as its file name, nested code objects included (for tracebacks)."""
    consts = tuple(retarget(const, filename) if isinstance(const, CODE) else const for const in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def cached_compiler(compile_source, directory):
    """A drop-in for zipimport._compile_source that keeps what `compile_source` makes in `directory`."""
    def compile_cached(pathname, source):
        import hashlib  # here, not at start-up: every Python process on the node imports this module
        import importlib.util
        import sys
        flavour = importlib.util.MAGIC_NUMBER + str(sys.flags.optimize).encode() + b'\0'
        key = hashlib.sha256(flavour + bytes(source)).hexdigest()
        path = os.path.join(directory, key)
        try:
            with open(path, 'rb') as handle:
                code = marshal.load(handle)
            if isinstance(code, CODE):
                return retarget(code, pathname) if code.co_filename != pathname else code
        except (OSError, EOFError, ValueError, TypeError):
            pass
        code = compile_source(pathname, source)
        temporary = '%s.%d.tmp' % (path, os.getpid())
        try:
            with open(temporary, 'wb') as handle:
                marshal.dump(code, handle)
            os.replace(temporary, path)
        except (OSError, ValueError):
            try:
                os.unlink(temporary)
            except OSError:
                pass
        return code
    compile_cached.picocloud_lab_bytecode = True
    return compile_cached


def install(directory=CACHE_DIR):
    """Route zipimport's compiles through the cache in `directory` (once per process; a missing directory: no cache)."""
    current = getattr(zipimport, '_compile_source', None)
    if current is None or getattr(current, 'picocloud_lab_bytecode', False) or not os.path.isdir(directory):
        return False
    zipimport._compile_source = cached_compiler(current, directory)
    return True
