"""No network for this process and every process it starts: a seccomp filter, through libseccomp.

sandbox.py copies this file into the interpreter environment sdist build backends run in and
imports it from that environment's first .pth file, so the filter is in place before any
package code runs there. The kernel keeps it for the process and all its children, and it
cannot be lifted: a backend that calls the socket syscall itself (ctypes, a C extension, a
subprocess) meets it too. Only Unix sockets stay; the build step has none that lead out.

Standard library only: it runs before the environment's packages are importable.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import sys

_ALLOW = 0x7FFF0000
_AF_UNIX = 1
_CMP_NE = 1
# Everything that makes a socket other than a Unix one, or reaches into another process of
# the build (uv, which has the network): io_uring makes sockets without the socket syscall.
_REFUSED = ("io_uring_setup", "io_uring_enter", "io_uring_register",
            "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd")


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def _errno_action(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


def install() -> None:
    """Refuse every non-Unix socket and the calls above from now on; raises OSError if it cannot."""
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    lib = ctypes.CDLL(name, use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(_ArgCmp)]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    context = lib.seccomp_init(_ALLOW)
    if not context:
        raise OSError(f"seccomp_init failed ({name})")
    try:
        def refuse(syscall: str, *conditions: _ArgCmp) -> None:
            number = lib.seccomp_syscall_resolve_name(syscall.encode())
            if number < 0:  # not on this architecture
                return
            array = (_ArgCmp * len(conditions))(*conditions) if conditions else None
            status = lib.seccomp_rule_add_array(context, _errno_action(errno.EACCES), number, len(conditions), array)
            if status != 0:
                raise OSError(-status, f"seccomp_rule_add({syscall}) failed")

        refuse("socket", _ArgCmp(0, _CMP_NE, _AF_UNIX, 0))
        for syscall in _REFUSED:
            refuse(syscall)
        # libseccomp also sets no_new_privs, which an unprivileged filter needs.
        status = lib.seccomp_load(context)
        if status != 0:
            raise OSError(-status, "seccomp_load failed")
    finally:
        lib.seccomp_release(context)


def install_or_exit() -> None:
    """install(), or end this process before anything else runs in it: never fall back to the network."""
    try:
        install()
    except (OSError, AttributeError) as exc:
        sys.stderr.write(f"pypi-mirror: error: cannot take the network away from the build backend: {exc}\n")
        sys.stderr.flush()
        os._exit(70)
