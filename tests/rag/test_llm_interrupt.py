"""Ctrl-C while llama.cpp loads a model stops ragtui (QA Q29): the signal that lands in a
ctypes callback (llama.cpp's log callback) is held, not swallowed."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal

import pytest

from ragtui.rag.llm import interrupts_held

COMPARE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))


def sort_in_c_with_a_python_callback(on_call) -> list[int]:
    """libc's qsort calling back into Python, as llama.cpp calls its log callback."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    values = (ctypes.c_int * 4)(3, 1, 2, 0)

    def compare(a, b):
        on_call()
        return a[0] - b[0]

    libc.qsort(values, len(values), ctypes.sizeof(ctypes.c_int), COMPARE(compare))
    return list(values)


def interrupt_once():
    calls = []

    def on_call():
        if not calls:
            os.kill(os.getpid(), signal.SIGINT)  # handled at the callback's next bytecode
        calls.append(1)

    return on_call


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_ctrl_c_inside_a_ctypes_callback_is_lost_without_holding_it():
    # Why the fix exists: ctypes reports the KeyboardInterrupt ("Exception ignored…"), the
    # callback returns 0, and C goes on to the end.
    assert sorted(sort_in_c_with_a_python_callback(interrupt_once())) == [0, 1, 2, 3]


def test_ctrl_c_while_llama_cpp_runs_is_raised_once_it_returns():
    before = signal.getsignal(signal.SIGINT)
    finished = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_held():
            finished.append(sort_in_c_with_a_python_callback(interrupt_once()))
    assert finished == [[0, 1, 2, 3]]  # C finished its work first
    assert signal.getsignal(signal.SIGINT) is before  # put back


def test_without_ctrl_c_nothing_changes():
    before = signal.getsignal(signal.SIGINT)
    with interrupts_held():
        assert sort_in_c_with_a_python_callback(lambda: None) == [0, 1, 2, 3]
    assert signal.getsignal(signal.SIGINT) is before
