"""Where student code runs when the autograder grades it: a kernel with limits, in a folder of its
own, that cannot read the instructor's files.

``casebook course.sandbox [limits] -- KERNEL COMMAND`` is the kernel launcher. Started in
the empty folder the grader made for one submission, it

- copies the connection file into that folder and points HOME, TMPDIR, IPython, Jupyter, Keras and
  Matplotlib there; every other environment variable is dropped (a ``PGPASSWORD`` or a database
  URL of the grader never reaches the student);
- sets resource limits (``setrlimit``): CPU seconds, address space, size of a written file, no core
  dumps, a cap on processes;
- on Linux 5.13+ restricts the file system with Landlock (no privileges needed): read-only access
  to the system folders, the Python installation and this package; read and write in its own
  folder and ``/dev``; nothing else, so ``solutions/``, the course folder and its gradebook, other
  students' folders and the rest of the home folder cannot be read or written. With Landlock ABI 4+
  the kernel may bind its own five ports and open no TCP connection; with ABI 6+ it cannot signal
  processes outside its sandbox (the grader);
- then ``exec``s the kernel.

:class:`SandboxKernelManager` is the kernel manager that prefixes the kernel command with this
launcher, and :class:`GuardedExecute` the nbgrader execute preprocessor that uses it (named in
``autograder/nbgrader_config.py``).
"""

from __future__ import annotations

import argparse
import ast
import ctypes
import json
import os
import resource
import secrets
import shutil
import signal
import sys
import sysconfig
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade, is_locked, is_solution
from traitlets import Bool, Integer, List, Unicode

# --- Landlock (linux/landlock.h); the system call numbers are the same on every architecture ----

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_PDEATHSIG = 1
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_BITS_BY_ABI = {1: 13, 2: 14, 3: 15, 4: 15, 5: 16}  # how many access bits each ABI handles
_READ_ONLY = _EXECUTE | _READ_FILE | _READ_DIR
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1, 2
SYSTEM_FOLDERS = ["/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/sys"]


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPortAttr(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def landlock_abi() -> int:
    """The Landlock ABI version of the running kernel (0: not available)."""
    if not sys.platform.startswith("linux"):
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    version = libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(version), 0)


def landlock(read: list[str], write: list[str], bind_ports: list[int]) -> int:
    """Restrict this process (and what it execs) to reading ``read`` and reading and writing
    ``write``; with ABI 4+ to binding ``bind_ports`` and connecting nowhere over TCP; with ABI 6+
    to signalling nothing outside. Returns the ABI used; raises OSError if it cannot."""
    abi = landlock_abi()
    if abi < 1:
        raise OSError("Landlock is not available in this kernel")
    libc = ctypes.CDLL(None, use_errno=True)
    every = (1 << _FS_BITS_BY_ABI.get(abi, 16)) - 1
    attr = _RulesetAttr(every, 0, 0)
    size = 8
    if abi >= 4:
        attr.handled_access_net, size = _NET_BIND_TCP | _NET_CONNECT_TCP, 16
    if abi >= 6:
        attr.scoped, size = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL, 24
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for paths, access in ((read, _READ_ONLY), (write, every)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue  # a folder this system does not have
                try:
                    if not os.path.isdir(path):  # a file takes file rights only
                        access &= _EXECUTE | _WRITE_FILE | _READ_FILE | (1 << 14) | (1 << 15)
                    rule = _PathBeneathAttr(access, fd)
                    if libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0):
                        raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
                finally:
                    os.close(fd)
        if abi >= 4:
            for port in bind_ports:
                rule = _NetPortAttr(_NET_BIND_TCP, port)
                if libc.syscall(_ADD_RULE, ruleset, _RULE_NET_PORT, ctypes.byref(rule), 0):
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for port {port}")
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0):
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_RESTRICT_SELF, ruleset, 0):
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return abi


# --- the launcher -------------------------------------------------------------------------------

KEPT_ENVIRONMENT = (
    *("PATH", "LANG", "LANGUAGE", "TZ", "TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND"),
    *("JPY_PARENT_PID", "JPY_INTERRUPT_EVENT", "JPY_SESSION_NAME"),
)
GUARD_MODULE = "casebook.course.kernel_guard"
# Runs silently before the first cell; the module is read from the installed package.
GUARD_CODE = (
    f"__import__('importlib').import_module('{GUARD_MODULE}').install(get_ipython().user_ns)"
)


def die_with_parent() -> None:
    """The kernel is killed when the grader that started it dies (a grading worker killed
    mid-submission leaves no student code running)."""
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the signal was asked for
        os._exit(1)


def python_folders() -> list[str]:
    """What a kernel must read to run: the Python installation, the virtual environment and
    this package (not the repository around it)."""
    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    folders |= {p for p in sysconfig.get_paths().values()}
    folders.add(str(Path(__file__).resolve().parents[1]))  # the casebook package
    folders.add(str(Path(sys.executable).resolve().parent))
    return sorted(folders)


def launch(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="casebook course.sandbox")
    parser.add_argument("--cpu", type=int, default=0, help="CPU seconds (0: no limit)")
    parser.add_argument("--memory", type=int, default=0, help="address space, bytes")
    parser.add_argument("--file-size", type=int, default=0, help="largest file written, bytes")
    parser.add_argument("--processes", type=int, default=0, help="processes of this user")
    parser.add_argument("--read", action="append", default=[], help="another readable folder")
    parser.add_argument("--no-landlock", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    here = Path.cwd()
    die_with_parent()

    # the connection file, copied where the kernel may read it
    ports = []
    if "-f" in command:
        i = command.index("-f") + 1
        info = json.loads(Path(command[i]).read_text())
        ports = [int(v) for k, v in info.items() if k.endswith("_port")]
        copy = here / ".kernel.json"
        copy.write_text(json.dumps(info))
        command[i] = str(copy)

    env = {k: os.environ[k] for k in KEPT_ENVIRONMENT if k in os.environ}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    for name in ("tmp", ".ipython", ".config/matplotlib"):
        (here / name).mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(here),
        TMPDIR=str(here / "tmp"),
        IPYTHONDIR=str(here / ".ipython"),
        JUPYTER_RUNTIME_DIR=str(here / "tmp"),
        JUPYTER_DATA_DIR=str(here / "tmp"),
        MPLCONFIGDIR=str(here / ".config/matplotlib"),
        KERAS_HOME=str(here / ".keras"),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONNOUSERSITE="1",
        NBGRADER_EXECUTION="autograde",
        CASEBOOK_SANDBOX="1",
    )

    limits = [
        (resource.RLIMIT_CPU, args.cpu, args.cpu + 5),
        (resource.RLIMIT_AS, args.memory, args.memory),
        (resource.RLIMIT_FSIZE, args.file_size, args.file_size),
        (resource.RLIMIT_NPROC, args.processes, args.processes),
    ]
    for which, soft, hard in limits:
        if soft > 0:
            _, current = resource.getrlimit(which)
            if current != resource.RLIM_INFINITY:
                soft, hard = min(soft, current), min(hard, current)
            resource.setrlimit(which, (soft, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    if not args.no_landlock:
        read = SYSTEM_FOLDERS + python_folders() + args.read
        try:
            landlock(read, [str(here), "/dev"], ports)
        except OSError as error:
            print(f"casebook.course.sandbox: no file-system sandbox ({error})", file=sys.stderr)
    log = os.open(here / ".kernel.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)  # the kernel's own messages; cell output goes to the grader over ZMQ
    os.dup2(log, 2)
    os.execve(command[0], command, env)


# --- nbgrader side ------------------------------------------------------------------------------


class SandboxKernelManager(AsyncKernelManager):
    """Starts every kernel through ``casebook course.sandbox`` with these limits."""

    cpu_seconds = Integer(600, help="CPU seconds of the whole kernel (0: none)").tag(config=True)
    memory_mb = Integer(4096, help="address space of the kernel, MiB (0: none)").tag(config=True)
    file_size_mb = Integer(64, help="largest file the kernel may write, MiB").tag(config=True)
    processes = Integer(0, help="most processes of the grading user (0: none)").tag(config=True)
    landlock = Bool(True, help="restrict the file system with Landlock").tag(config=True)
    readable = List(Unicode(), help="more folders the kernel may read").tag(config=True)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        prefix = [sys.executable, "-m", "casebook.course.sandbox"]
        prefix += ["--cpu", str(self.cpu_seconds), "--memory", str(self.memory_mb << 20)]
        prefix += ["--file-size", str(self.file_size_mb << 20)]
        prefix += ["--processes", str(self.processes)]
        prefix += [f"--read={path}" for path in self.readable]
        if not self.landlock:
            prefix.append("--no-landlock")
        return [*prefix, "--", *cmd]


KERNEL_DIED = "KernelDied"
NOT_RUN = "NotRun"
GUARD_FAILED = "TestCellSkipped"


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[])


class GuardedExecute(Execute):
    """nbgrader's Execute, run in an empty scratch folder by a sandboxed kernel, and

    - before each graded test cell, restores the builtins, drops globals that hide a builtin the
      cell uses and loads ``casebook.grading`` afresh, so a submission that patched
      ``grading.expect_*``, rebound ``grading`` or replaced a builtin is tested by the real checks;
    - checks that each test cell without an error ran to its last line (a random token printed
      there), so a submission that blanks cells or swallows their errors scores nothing;
    - keeps at most ``max_output_kb`` of output per cell while it runs;
    - when the kernel dies (``os._exit``, a crash, the CPU or memory limit), marks that cell and
      every later code cell with an error instead of failing the whole notebook, so the cells that
      passed before keep their points.
    """

    sandbox = Bool(True, help="run the kernel through casebook.course.sandbox").tag(config=True)
    scratch_root = Unicode("", help="where the kernels' folders go (default: tmp)").tag(config=True)
    max_output_kb = Integer(256, help="output kept per cell, KiB (0: no limit)").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        resources = resources if resources is not None else {}
        source = Path(resources.get("metadata", {}).get("path") or ".")
        base = Path(tempfile.mkdtemp(prefix="casebook-kernel-", dir=self.scratch_root or None))
        run = base / "run"
        run.mkdir()
        for item in source.iterdir() if source.is_dir() else []:  # the submission's own files
            if item.suffix != ".ipynb" and item.name != "timestamp.txt":
                copy = shutil.copytree if item.is_dir() else shutil.copy2
                copy(item, run / item.name)
        resources.setdefault("metadata", {})["path"] = str(run)
        if self.sandbox:
            self.kernel_manager_class = SandboxKernelManager
        self._imports = _import_lines(nb)
        self._dead, self._guarded = None, False
        try:
            return super().preprocess(nb, resources, km)
        finally:
            resources["metadata"]["path"] = str(source)
            shutil.rmtree(base, ignore_errors=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        self._output_bytes, self._output_cut = 0, False
        if not self._guarded:  # before any student code: keep pristine builtins
            self._guarded = True
            self.wait_for_reply(self.kc.execute(GUARD_CODE, silent=True, store_history=False))
        if self._dead is not None:
            cell.outputs = [_error(NOT_RUN, f"not run: the kernel died in cell {self._dead}")]
            return cell, resources
        test = is_grade(cell) and not is_solution(cell)
        original, token = cell.source, secrets.token_hex(16)
        if test:
            shadowed = sorted(_builtins_used(original))
            guard = f"__import__('sys').modules['{GUARD_MODULE}'].restore({shadowed!r})"
            cell.source = "\n".join([guard, *self._imports, original, f"print('{token}')"])
        self._timed_out = False
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
            if self._timed_out:  # the interrupt's KeyboardInterrupt is not the student's error
                kept = [o for o in cell.outputs if o.output_type != "error"]
                why = f"the cell ran longer than {self.timeout} s and was stopped"
                cell.outputs = [*kept, _error("CellTimeoutError", why)]
        except Exception as error:  # DeadKernelError, or the kernel stopped answering
            name = cell.metadata.get("nbgrader", {}).get("grade_id") or f"#{index + 1}"
            self._dead = repr(name)
            if self._timed_out:
                why = f"the cell ran longer than {self.timeout} s and the kernel did not stop"
                cell.outputs = [_error("CellTimeoutError", why)]
            else:
                why = (
                    "the kernel died while this cell ran (it exited, crashed, or went over the "
                    f"CPU-time or memory limit; {type(error).__name__})"
                )
                cell.outputs = [_error(KERNEL_DIED, why)]
            self.log.warning("kernel died in cell %s: %s", name, error)
        finally:
            cell.source = original
        if test and self._dead is None:
            ran = False
            for output in cell.outputs:
                # nbgrader scores any stderr as a failure, but a test cell fails by raising: a
                # warning, or a library's log line (TensorFlow's, imported late by
                # keras.utils.set_random_seed on another backend), must not cost the points.
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
                if output.output_type == "stream" and token in output.text:
                    output.text = output.text.replace(f"{token}\n", "").replace(token, "")
                    ran = True
            cell.outputs = [o for o in cell.outputs if o.output_type != "stream" or o.text]
            if not ran and not any(o.output_type == "error" for o in cell.outputs):
                why = "this test cell did not run to its end (the notebook changed how cells run)"
                cell.outputs.append(_error(GUARD_FAILED, why))
        return cell, resources

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs, msg, display_id, cell_index):
        if self.max_output_kb > 0 and msg["msg_type"] in (
            "stream",
            "display_data",
            "execute_result",
            "update_display_data",
        ):
            content = msg.get("content", {})
            size = len(content.get("text", "")) + sum(
                len(str(v)) for v in content.get("data", {}).values()
            )
            self._output_bytes += size
            if self._output_bytes > self.max_output_kb << 10:
                if not self._output_cut:
                    self._output_cut = True
                    note = f"\n[output cut: more than {self.max_output_kb} KiB]\n"
                    outs.append(NotebookNode(output_type="stream", name="stderr", text=note))
                return None
        return super().output(outs, msg, display_id, cell_index)


def _import_lines(nb) -> list[str]:
    """The import statements of the notebook's locked, ungraded code cells (its imports cell)."""
    lines = []
    for cell in nb.cells:
        if cell.cell_type == "code" and is_locked(cell) and not is_grade(cell):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, ast.Import | ast.ImportFrom):
                    lines.append(ast.get_source_segment(cell.source, node))
    return lines


def _builtins_used(source: str) -> set[str]:
    import builtins

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return {n for n in names if hasattr(builtins, n)}


if __name__ == "__main__":
    launch(sys.argv[1:])
