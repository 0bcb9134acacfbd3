"""The fake GAMS's hidden message window (Windows only): how GAMS takes an interrupt.

GAMS (gams.exe) opens a hidden top-level window titled ``___GAMSMSGWINDOW___``
followed by its process id, and stops the solve when the window receives a
WM_COPYDATA whose data is the ANSI text "GAMS Message Interrupt" (GAMS Studio's
AbstractProcess::interruptIntern and the Python API's GamsJob.interrupt send it
with dwData 1; times_doctor/_procgroup_windows.py does the same).  This module
opens such a window with the real user32 calls and reports the message it gets.
"""

import ctypes
from ctypes import wintypes

WM_COPYDATA = 0x004A
PM_REMOVE = 0x0001
QS_ALLINPUT = 0x04FF
WAIT_SECONDS = 0.1
TITLE_PREFIX = "___GAMSMSGWINDOW___"
INTERRUPT_DATA = b"GAMS Message Interrupt\x00"

LRESULT = ctypes.c_ssize_t
WNDPROC = ctypes.WINFUNCTYPE(LRESULT, wintypes.HWND, wintypes.UINT, wintypes.WPARAM,
                             wintypes.LPARAM)


class WNDCLASSW(ctypes.Structure):
    _fields_ = [("style", wintypes.UINT), ("lpfnWndProc", WNDPROC),
                ("cbClsExtra", ctypes.c_int), ("cbWndExtra", ctypes.c_int),
                ("hInstance", wintypes.HINSTANCE), ("hIcon", wintypes.HICON),
                ("hCursor", wintypes.HANDLE), ("hbrBackground", wintypes.HBRUSH),
                ("lpszMenuName", wintypes.LPCWSTR), ("lpszClassName", wintypes.LPCWSTR)]


class COPYDATASTRUCT(ctypes.Structure):
    _fields_ = [("dwData", ctypes.c_size_t), ("cbData", wintypes.DWORD),
                ("lpData", ctypes.c_void_p)]


def serve(pid, interrupted, ready, say):
    """Open the window for *pid* and pump its messages until the process ends.

    Args:
        interrupted: a threading.Event set when the interrupt message arrives.
        ready: set once the window exists (or failed to), so GAMS goes on.
        say: writes one line to the job's log.
    """
    user32 = ctypes.WinDLL("user32", use_last_error=True)
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    user32.DefWindowProcW.restype = LRESULT
    user32.DefWindowProcW.argtypes = [wintypes.HWND, wintypes.UINT, wintypes.WPARAM,
                                      wintypes.LPARAM]
    user32.CreateWindowExW.restype = wintypes.HWND
    user32.CreateWindowExW.argtypes = [
        wintypes.DWORD, wintypes.LPCWSTR, wintypes.LPCWSTR, wintypes.DWORD, ctypes.c_int,
        ctypes.c_int, ctypes.c_int, ctypes.c_int, wintypes.HWND, wintypes.HMENU,
        wintypes.HINSTANCE, wintypes.LPVOID]
    kernel32.GetModuleHandleW.restype = wintypes.HMODULE

    @WNDPROC
    def window_proc(hwnd, message, wparam, lparam):
        if message == WM_COPYDATA:
            data = ctypes.cast(lparam, ctypes.POINTER(COPYDATASTRUCT)).contents
            text = ctypes.string_at(data.lpData, data.cbData)
            say("--- fake: message window got dwData %d %r" % (data.dwData, text))
            if text == INTERRUPT_DATA:
                interrupted.set()
            return 1
        return user32.DefWindowProcW(hwnd, message, wparam, lparam)

    window_class = WNDCLASSW()
    window_class.lpfnWndProc = window_proc
    window_class.lpszClassName = "TimesDoctorFakeGamsMessages"
    window_class.hInstance = kernel32.GetModuleHandleW(None)
    user32.RegisterClassW(ctypes.byref(window_class))
    hwnd = user32.CreateWindowExW(0, window_class.lpszClassName, "%s%d" % (TITLE_PREFIX, pid),
                                  0, 0, 0, 0, 0, None, None, window_class.hInstance, None)
    if not hwnd:
        say("--- fake: no message window: %s" % ctypes.WinError(ctypes.get_last_error()))
        ready.set()
        return
    say("--- fake: message window %s" % (TITLE_PREFIX + str(pid)))
    ready.set()
    message = wintypes.MSG()
    while True:
        while user32.PeekMessageW(ctypes.byref(message), None, 0, 0, PM_REMOVE):
            user32.TranslateMessage(ctypes.byref(message))
            user32.DispatchMessageW(ctypes.byref(message))
        user32.MsgWaitForMultipleObjects(0, None, False, int(WAIT_SECONDS * 1000), QS_ALLINPUT)
