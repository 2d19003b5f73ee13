@echo off
rem Runs a PowerShell script that is beside this file with Windows PowerShell, passes it the
rem remaining arguments, and exits with the script's exit code. ServiceDefinition.csdef uses it:
rem   ps.cmd ConfigureCloudService.ps1          (startup task of a web role, from approot\bin)
rem   bin\ps.cmd ConfigureCloudService.ps1      (startup task of a worker role, from approot)
rem   bin\ps.cmd LaunchWorker.ps1 worker.py     (entry point of a worker role, from approot)
rem Everything the script, or PowerShell itself, writes to stdout and stderr is appended to
rem <script>.stdout.log and <script>.stderr.log in %DIAGNOSTIC_STORE%\LogFiles, so that even
rem a PowerShell that cannot start leaves its reason there.
setlocal
if "%~1"=="" (
    echo Usage: %~nx0 SCRIPT.ps1 [ARGUMENTS] 1>&2
    exit /b 2
)
set "SCRIPT=%~dp0%~1"
if defined DIAGNOSTIC_STORE (
    set "LOG_FOLDER=%DIAGNOSTIC_STORE%\LogFiles"
) else (
    set "LOG_FOLDER=%TEMP%\CloudService\LogFiles"
)
if not exist "%LOG_FOLDER%\" mkdir "%LOG_FOLDER%"
set "STDOUT_LOG=%LOG_FOLDER%\%~n1.stdout.log"
set "STDERR_LOG=%LOG_FOLDER%\%~n1.stderr.log"
rem Past 10 MB a log becomes <name>.1, replacing the previous one, and a new log starts.
for %%L in ("%STDOUT_LOG%" "%STDERR_LOG%") do (
    if exist %%L if %%~zL GTR 10485760 move /y %%L "%%~L.1" >nul
)
set "ARGUMENTS="
:next_argument
shift
if "%~1"=="" goto run
set ARGUMENTS=%ARGUMENTS% "%~1"
goto next_argument
:run
>> "%STDERR_LOG%" echo %DATE% %TIME% ps.cmd: starting %SCRIPT%%ARGUMENTS%
"%SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe" -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "%SCRIPT%"%ARGUMENTS% >> "%STDOUT_LOG%" 2>> "%STDERR_LOG%"
set "EXIT_CODE=%ERRORLEVEL%"
>> "%STDERR_LOG%" echo %DATE% %TIME% ps.cmd: %SCRIPT% exited with code %EXIT_CODE%
exit /b %EXIT_CODE%
