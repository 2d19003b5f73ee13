<#
.SYNOPSIS
    Runs the worker of {{ role.name }}: `python -u <Script>` from the role folder.

.DESCRIPTION
    The ProgramEntryPoint of ServiceDefinition.csdef starts `bin\ps.cmd LaunchWorker.ps1 worker.py`
    after the startup task (ConfigureCloudService.ps1) has installed Python and the packages.
    The worker's output is appended to %DIAGNOSTIC_STORE%\LogFiles\LaunchWorker.log and its
    errors to LaunchWorker.err.log. This script exits with the worker's exit code; when it
    exits, Azure recycles the instance, which starts the worker again.
#>
param(
    # The worker's script, relative to the role folder.
    [Parameter(Mandatory)] [string] $Script
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

. (Join-Path $PSScriptRoot 'Common.ps1')

$AppRoot = Split-Path -Parent $PSScriptRoot
$LogFolder = Get-LogFolder
$OutputLog = Join-Path $LogFolder 'LaunchWorker.log'
$ErrorLog = Join-Path $LogFolder 'LaunchWorker.err.log'

function Start-Worker {
    # Runs the worker until it exits and returns its exit code. cmd.exe appends the output to
    # the logs as the worker writes it, so nothing is lost when the worker crashes.
    param(
        [Parameter(Mandatory)] [string] $Python,
        [Parameter(Mandatory)] [string] $ScriptPath
    )
    $command = "`"`"$Python`" -u `"$ScriptPath`" >> `"$OutputLog`" 2>> `"$ErrorLog`"`""
    $worker = Start-Process -FilePath (Join-Path $env:SystemRoot 'System32\cmd.exe') `
        -ArgumentList "/d /s /c $command" -WorkingDirectory $AppRoot -NoNewWindow -Wait -PassThru
    return $worker.ExitCode
}

try {
    Limit-LogSize -Path $OutputLog
    Limit-LogSize -Path $ErrorLog
    $python = Get-PythonExe
    if (-not (Test-Path -LiteralPath $python -PathType Leaf)) {
        throw "there is no Python at $python; see ConfigureCloudService.log in $LogFolder"
    }
    $scriptPath = Join-Path $AppRoot $Script
    if (-not (Test-Path -LiteralPath $scriptPath -PathType Leaf)) {
        throw "there is no $scriptPath"
    }
    # The worker's text output is UTF-8, whatever the code page of the VM.
    $env:PYTHONIOENCODING = 'utf-8'
    Add-LogLine -Path $OutputLog -Message "Starting $python -u $scriptPath"
    $exitCode = Start-Worker -Python $python -ScriptPath $scriptPath
    Add-LogLine -Path $ErrorLog -Message "The worker exited with code $exitCode."
    exit $exitCode
} catch {
    Add-LogLine -Path $ErrorLog -Message "LaunchWorker.ps1 failed: $($_.Exception.Message)"
    exit 1
}
