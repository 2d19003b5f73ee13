# What the role's start-up scripts share: where this role's Python is, and where the logs go.
# ConfigureCloudService.ps1 and LaunchWorker.ps1 dot-source it.

# The pinned CPython build (NuGet package "python", x64) and its download address come from
# ServiceDefinition.csdef, which gives them to the role's tasks as PYTHON_BUILD and
# PYTHON_PACKAGE_URL: change them there, then run `python -m cloudservice prepare` again.
$PythonBuild = $env:PYTHON_BUILD
$PythonPackageUrl = $env:PYTHON_PACKAGE_URL

$LogSizeLimitBytes = 10 * 1024 * 1024

function Get-PythonExe {
    # The interpreter this role runs, first found of:
    #   1. $env:PYTHON, when set (a full path to python.exe);
    #   2. bin\python\tools\python.exe, unpacked there by `python -m cloudservice prepare`;
    #   3. the machine-wide copy of the pinned build, which ConfigureCloudService.ps1 installs.
    if ($env:PYTHON) {
        return $env:PYTHON
    }
    $prepared = Join-Path $PSScriptRoot 'python\tools\python.exe'
    if (Test-Path -LiteralPath $prepared -PathType Leaf) {
        return $prepared
    }
    return Join-Path (Get-MachinePythonHome) 'tools\python.exe'
}

function Get-MachinePythonHome {
    # Where ConfigureCloudService.ps1 unpacks the pinned build when the role brings no
    # interpreter: one folder per build, shared by every start of the instance.
    if (-not $PythonBuild) {
        throw 'PYTHON_BUILD is not set; ServiceDefinition.csdef sets it for the role (to run this script by hand, set PYTHON_BUILD and PYTHON_PACKAGE_URL, or PYTHON)'
    }
    return Join-Path $env:ProgramData "CloudService\python.$PythonBuild"
}

function Get-LogFolder {
    # %DIAGNOSTIC_STORE%\LogFiles on the VM; a folder under TEMP when the script is run by hand.
    if ($env:DIAGNOSTIC_STORE) {
        $folder = Join-Path $env:DIAGNOSTIC_STORE 'LogFiles'
    } else {
        $folder = Join-Path $env:TEMP 'CloudService\LogFiles'
    }
    New-Item -ItemType Directory -Force -Path $folder | Out-Null
    return $folder
}

function Limit-LogSize {
    # Keeps a log from filling the disk: past the limit it becomes <name>.1 (replacing the
    # previous one) and a new log starts.
    param([Parameter(Mandatory)] [string] $Path)
    if ((Test-Path -LiteralPath $Path) -and (Get-Item -LiteralPath $Path).Length -gt $LogSizeLimitBytes) {
        Move-Item -LiteralPath $Path -Destination "$Path.1" -Force
    }
}

function Add-LogLine {
    # Appends one time-stamped line (UTF-8, no byte order mark) to a log file.
    param(
        [Parameter(Mandatory)] [string] $Path,
        [Parameter(Mandatory)] [string] $Message
    )
    $line = '{0} {1}{2}' -f (Get-Date -Format 'yyyy-MM-dd HH:mm:ss'), $Message, [Environment]::NewLine
    [IO.File]::AppendAllText($Path, $line)
}
