<#
.SYNOPSIS
    Runs the worker of {{ role.name }}: `python -u <Script>` from the role folder.

.DESCRIPTION
    The ProgramEntryPoint of ServiceDefinition.csdef starts `bin\ps.cmd LaunchWorker.ps1 {{ role.worker_script | replace("/", "\\") }}`
    after the startup task (ConfigureCloudService.ps1) has installed Python and the packages.
    The worker's output is appended to %DIAGNOSTIC_STORE%\LogFiles\LaunchWorker.log and its
    errors to LaunchWorker.err.log. This script exits with the worker's exit code; when it
    exits, Azure recycles the instance, which starts the worker again.

    With APPLICATIONINSIGHTS_CONNECTION_STRING set, the worker sends its own log there; this
    script sends its start, and the worker's exit with the last lines of its errors (the
    traceback of a crash, which the worker's log cannot send).
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
# How much of the end of the worker's errors goes to Application Insights when it exits.
$ErrorTailLines = 50

function Write-Event {
    # Logs one line of this script to LaunchWorker.err.log and to Application Insights.
    param(
        [Parameter(Mandatory)] [string] $Message,
        [ValidateSet(1, 3)] [int] $Severity = 1
    )
    Add-LogLine -Path $ErrorLog -Message $Message
    Add-LogLine -Path $ErrorLog -Message (Send-Trace -Entries @(New-LogEntry -Message $Message -Severity $Severity) -Source 'LaunchWorker.ps1')
}

function Get-LogLength {
    param([Parameter(Mandatory)] [string] $Path)
    if (Test-Path -LiteralPath $Path -PathType Leaf) {
        return (Get-Item -LiteralPath $Path).Length
    }
    return 0
}

function Read-LogTail {
    # The last lines that were added to a log after it had $From bytes.
    param(
        [Parameter(Mandatory)] [string] $Path,
        [Parameter(Mandatory)] [long] $From
    )
    if ((Get-LogLength -Path $Path) -le $From) {
        return ''
    }
    # The worker's cmd.exe may still hold the file open.
    $stream = New-Object System.IO.FileStream $Path, 'Open', 'Read', 'ReadWrite'
    try {
        $stream.Seek($From, 'Begin') | Out-Null
        $reader = New-Object System.IO.StreamReader $stream
        $lines = $reader.ReadToEnd() -split '\r?\n' | Where-Object { $_ }
    } finally {
        $stream.Dispose()
    }
    return (@($lines) | Select-Object -Last $ErrorTailLines) -join [Environment]::NewLine
}

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
    Write-Event "Starting the worker of instance $env:ROLE_INSTANCE_ID: $python -u $scriptPath"
    $errorsBefore = Get-LogLength -Path $ErrorLog
    $exitCode = Start-Worker -Python $python -ScriptPath $scriptPath
    $message = "The worker exited with code $exitCode."
    $errors = Read-LogTail -Path $ErrorLog -From $errorsBefore
    if ($errors) {
        $message += " The end of its errors:$([Environment]::NewLine)$errors"
    }
    Add-LogLine -Path $ErrorLog -Message "The worker exited with code $exitCode."
    Add-LogLine -Path $ErrorLog -Message (Send-Trace -Entries @(New-LogEntry -Message $message -Severity 3) -Source 'LaunchWorker.ps1')
    exit $exitCode
} catch {
    Write-Event "LaunchWorker.ps1 failed: $($_.Exception.Message)" -Severity 3
    exit 1
}
