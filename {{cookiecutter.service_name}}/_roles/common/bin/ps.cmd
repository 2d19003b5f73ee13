@echo off
rem Runs a PowerShell script that is beside this file with Windows PowerShell, passes it the
rem remaining arguments, and exits with the script's exit code. ServiceDefinition.csdef uses it:
rem   ps.cmd ConfigureCloudService.ps1          (startup task of a web role, from approot\bin)
rem   bin\ps.cmd ConfigureCloudService.ps1      (startup task of a worker role, from approot)
rem   bin\ps.cmd LaunchWorker.ps1 worker.py     (entry point of a worker role, from approot)
setlocal
if "%~1"=="" (
    echo Usage: %~nx0 SCRIPT.ps1 [ARGUMENTS] 1>&2
    exit /b 2
)
set "SCRIPT=%~dp0%~1"
set "ARGUMENTS="
:next_argument
shift
if "%~1"=="" goto run
set ARGUMENTS=%ARGUMENTS% "%~1"
goto next_argument
:run
"%SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe" -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "%SCRIPT%"%ARGUMENTS%
exit /b %ERRORLEVEL%
