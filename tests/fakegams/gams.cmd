@echo off
rem Fake GAMS for the times-doctor tests on Windows: see fake_gams.py beside this file.
rem FAKE_GAMS_PYTHON picks the interpreter (the tests set it to their own).
if not defined FAKE_GAMS_PYTHON set FAKE_GAMS_PYTHON=python
"%FAKE_GAMS_PYTHON%" "%~dp0fake_gams.py" %*
exit /b %ERRORLEVEL%
