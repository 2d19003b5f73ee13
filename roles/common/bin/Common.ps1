# What the role's start-up scripts share: where this role's Python is, where the logs go, and
# how they reach Application Insights.
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

function Enable-Tls12 {
    # Windows PowerShell 5.1 may not offer TLS 1.2, which nuget.org, Microsoft's download
    # site and Application Insights require.
    [Net.ServicePointManager]::SecurityProtocol =
        [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
}

function New-LogEntry {
    # One line for Send-Trace: its time (UTC), text and Application Insights severity
    # (1 information, 3 error).
    param(
        [Parameter(Mandatory)] [string] $Message,
        [ValidateSet(1, 3)] [int] $Severity = 1
    )
    return [pscustomobject] @{
        Time = (Get-Date).ToUniversalTime().ToString('o')
        Message = $Message
        Severity = $Severity
    }
}

function Get-TelemetryTarget {
    # Where Application Insights takes telemetry, from APPLICATIONINSIGHTS_CONNECTION_STRING
    # (InstrumentationKey=...;IngestionEndpoint=https://...), which the role has as a
    # setting: @{Uri; Key}, or $null when the setting is empty.
    $connectionString = $env:APPLICATIONINSIGHTS_CONNECTION_STRING
    if (-not $connectionString -or -not $connectionString.Trim()) {
        return $null
    }
    $parts = @{}
    foreach ($pair in $connectionString.Split(';')) {
        $name, $value = $pair.Split('=', 2)
        if ($value) {
            $parts[$name.Trim()] = $value.Trim()
        }
    }
    if (-not $parts['InstrumentationKey']) {
        throw 'APPLICATIONINSIGHTS_CONNECTION_STRING has no InstrumentationKey'
    }
    $endpoint = $parts['IngestionEndpoint']
    if (-not $endpoint) {
        $endpoint = 'https://dc.services.visualstudio.com'
    }
    return @{ Uri = $endpoint.TrimEnd('/') + '/v2/track'; Key = $parts['InstrumentationKey'] }
}

function Send-Trace {
    # Sends log lines (from New-LogEntry) to Application Insights as traces of this role
    # instance, in one request, and returns a sentence for the local log. It never throws:
    # telemetry that cannot be sent must not stop the start-up task or the worker.
    param(
        [Parameter(Mandatory)] [AllowEmptyCollection()] [object[]] $Entries,
        [Parameter(Mandatory)] [string] $Source
    )
    try {
        $target = Get-TelemetryTarget
        if ($null -eq $target) {
            return 'APPLICATIONINSIGHTS_CONNECTION_STRING is empty: the log stays on this instance.'
        }
        $tags = @{ 'ai.cloud.role' = "$env:ROLE_NAME"; 'ai.cloud.roleInstance' = "$env:ROLE_INSTANCE_ID" }
        $properties = @{ source = $Source; deploymentId = "$env:DEPLOYMENT_ID" }
        $envelopes = foreach ($entry in $Entries) {
            @{
                name = 'Microsoft.ApplicationInsights.{0}.Message' -f $target.Key.Replace('-', '')
                time = $entry.Time
                iKey = $target.Key
                tags = $tags
                data = @{
                    baseType = 'MessageData'
                    baseData = @{ ver = 2; message = $entry.Message; severityLevel = $entry.Severity; properties = $properties }
                }
            }
        }
        $body = ConvertTo-Json -InputObject @($envelopes) -Depth 6 -Compress
        Enable-Tls12
        $response = Invoke-RestMethod -Method Post -Uri $target.Uri -ContentType 'application/json; charset=utf-8' `
            -Body ([Text.Encoding]::UTF8.GetBytes($body)) -TimeoutSec 15 -UseBasicParsing
        return "Sent $(@($envelopes).Count) lines to Application Insights; it accepted $($response.itemsAccepted)."
    } catch {
        return "Could not send the log to Application Insights: $($_.Exception.Message)"
    }
}
