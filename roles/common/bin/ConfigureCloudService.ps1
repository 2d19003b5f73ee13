<#
.SYNOPSIS
    Prepares an instance of the {{ role.name }} role: Python{{ ', its packages and IIS' if role.web else ' and its packages' }}.

.DESCRIPTION
    The elevated startup task of ServiceDefinition.csdef runs this script through ps.cmd on
    every start and recycle of the instance, before the role starts. Each step looks before it
    changes anything, so running it again is safe. The role starts only when the script exits
    with 0; otherwise the log says which step failed:
    %DIAGNOSTIC_STORE%\LogFiles\ConfigureCloudService.log

    1. Python: $env:PYTHON when set, else bin\python (from `python -m cloudservice prepare`),
       else the build pinned by PYTHON_BUILD and PYTHON_PACKAGE_URL in ServiceDefinition.csdef,
       downloaded from nuget.org and unpacked once per machine.
    2. Packages: requirements.txt, from bin\wheelhouse when it is there, else from PyPI.
{% if role.web %}
    3. IIS: the web server that bin\WebServer.ps1 sets up; then the site's web.config gets
       the absolute paths and the role's settings.
{% endif %}
#>

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
# Without this, Invoke-WebRequest redraws a progress bar for every block and crawls.
$ProgressPreference = 'SilentlyContinue'

. (Join-Path $PSScriptRoot 'Common.ps1')

# This script is in <approot>\bin; the working directory differs between web and worker roles.
$AppRoot = Split-Path -Parent $PSScriptRoot
$Requirements = Join-Path $AppRoot 'requirements.txt'
$Wheelhouse = Join-Path $PSScriptRoot 'wheelhouse'
$LogFolder = Get-LogFolder
$LogFile = Join-Path $LogFolder 'ConfigureCloudService.log'
# This run's lines, for Application Insights.
$LogEntries = New-Object System.Collections.Generic.List[object]
{% if role.web %}

# IIS serves the site from its own copy of the role's files, in the folder that the role
# model gives the site of this name in ServiceDefinition.csdef (<Sites><Site name="Web">).
$SiteName = 'Web'
$RoleModelNamespace = 'http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceDefinition'
# The site's processes write their logs here.
$SiteLogFolder = Join-Path $LogFolder 'Site'
$InetSrv = Join-Path $env:SystemRoot 'System32\inetsrv'
$AppCmd = Join-Path $InetSrv 'appcmd.exe'
# How IIS runs the site: Install-WebServer, Update-WebConfig and what they need.
. (Join-Path $PSScriptRoot 'WebServer.ps1')
# IIS runs the site's processes as application pool identities, which are all members of
# IIS_IUSRS (this SID, the same in every language of Windows).
$IisUsers = '*S-1-5-32-568'

# The role's environment as ServiceDefinition.csdef gives it to this task (less PYTHON_BUILD
# and PYTHON_PACKAGE_URL, which are for these scripts). IIS worker processes do not inherit
# it, so the site gets a copy in web.config.
$RoleVariables = @(
    'EMULATED'
    'DEPLOYMENT_ID'
    'ROLE_NAME'
    'ROLE_INSTANCE_ID'
    'DIAGNOSTIC_STORE'
{% for setting in role.settings %}
    '{{ setting.name }}'
{% endfor %}
)
{% endif %}

function Write-Log {
    param(
        [Parameter(Mandatory)] [string] $Message,
        [ValidateSet(1, 3)] [int] $Severity = 1
    )
    Add-LogLine -Path $LogFile -Message $Message
    $LogEntries.Add((New-LogEntry -Message $Message -Severity $Severity))
    Write-Host $Message
}

function Complete-Run {
    # Sends this run's lines to Application Insights (when the role has a connection string),
    # notes in the log how that went, and ends the script with the exit code.
    param([Parameter(Mandatory)] [int] $ExitCode)
    Add-LogLine -Path $LogFile -Message (Send-Trace -Entries $LogEntries -Source 'ConfigureCloudService.ps1')
    exit $ExitCode
}

function Invoke-Step {
    # Runs one step of the configuration; when it fails, the error names the step.
    param(
        [Parameter(Mandatory)] [string] $Name,
        [Parameter(Mandatory)] [scriptblock] $Action
    )
    Write-Log "== $Name"
    try {
        & $Action
    } catch {
        throw "$Name failed: $($_.Exception.Message)"
    }
}

function Assert-Program {
    # Fails when there is no such program; calling one that is missing would leave
    # $LASTEXITCODE as the previous program set it.
    param([Parameter(Mandatory)] [string] $FilePath)
    if (-not (Get-Command -Name $FilePath -CommandType Application -ErrorAction SilentlyContinue)) {
        throw "there is no program $FilePath"
    }
}

function Invoke-Native {
    # Runs a program, copies its output to the log, and fails unless it exits with one of
    # the success codes.
    param(
        [Parameter(Mandatory)] [string] $FilePath,
        [string[]] $ArgumentList = @(),
        [int[]] $SuccessCodes = @(0)
    )
    Write-Log "> $FilePath $($ArgumentList -join ' ')"
    Assert-Program -FilePath $FilePath
    # In this function only: what a program writes to stderr is output for the log, not an error.
    $ErrorActionPreference = 'Continue'
    & $FilePath @ArgumentList 2>&1 | ForEach-Object { Write-Log "  $_" }
    $exitCode = $LASTEXITCODE
    if ($SuccessCodes -notcontains $exitCode) {
        throw "$(Split-Path -Leaf $FilePath) exited with code $exitCode"
    }
}

function Save-Download {
    # Downloads a file; a network hiccup gets two more tries.
    param(
        [Parameter(Mandatory)] [string] $Uri,
        [Parameter(Mandatory)] [string] $OutFile
    )
    for ($attempt = 1; $attempt -le 3; $attempt++) {
        try {
            Write-Log "Downloading $Uri"
            Invoke-WebRequest -Uri $Uri -OutFile $OutFile -UseBasicParsing
            return
        } catch {
            if ($attempt -eq 3) {
                throw
            }
            Write-Log "Download attempt $attempt failed: $($_.Exception.Message)"
            Start-Sleep -Seconds 10
        }
    }
}

function Expand-PythonPackage {
    # Unpacks python.<build>.nupkg (a zip file) from nuget.org into $Destination. It unpacks
    # into a sibling folder first, so an interrupted attempt never looks like a finished one.
    param([Parameter(Mandatory)] [string] $Destination)
    if (-not $PythonPackageUrl) {
        throw 'PYTHON_PACKAGE_URL is not set; ServiceDefinition.csdef sets it for the role'
    }
    $package = "$Destination.nupkg"
    $unpacking = "$Destination.unpacking"
    New-Item -ItemType Directory -Force -Path (Split-Path -Parent $Destination) | Out-Null
    foreach ($leftover in $Destination, $unpacking) {
        if (Test-Path -LiteralPath $leftover) {
            Remove-Item -LiteralPath $leftover -Recurse -Force
        }
    }
    Save-Download -Uri $PythonPackageUrl -OutFile $package
    Write-Log "Unpacking $package"
    Add-Type -AssemblyName System.IO.Compression.FileSystem
    [IO.Compression.ZipFile]::ExtractToDirectory($package, $unpacking)
    if (-not (Test-Path -LiteralPath (Join-Path $unpacking 'tools\python.exe'))) {
        throw "$PythonPackageUrl has no tools\python.exe"
    }
    Move-Item -LiteralPath $unpacking -Destination $Destination
    Remove-Item -LiteralPath $package
}

function Install-Python {
    # Returns the path of the role's python.exe (see Get-PythonExe in Common.ps1), unpacking
    # the pinned build first when it is not there yet.
    $python = Get-PythonExe
    if (-not (Test-Path -LiteralPath $python -PathType Leaf)) {
        if ($env:PYTHON) {
            throw "PYTHON is set to '$env:PYTHON', which is not a file"
        }
        Expand-PythonPackage -Destination (Get-MachinePythonHome)
    }
    Invoke-Native -FilePath $python -ArgumentList '--version'
    return $python
}

function Install-Pip {
    # ensurepip installs the pip that comes with Python, offline; it leaves an existing pip alone.
    param([Parameter(Mandatory)] [string] $Python)
    Invoke-Native -FilePath $Python -ArgumentList '-m', 'ensurepip'
}

function Get-PackageSource {
    # pip's options for where packages come from: only bin\wheelhouse when
    # `python -m cloudservice prepare` filled it (nothing is downloaded), otherwise PyPI,
    # preferring wheels because the VM has no C compiler.
    if (Test-Path -LiteralPath $Wheelhouse -PathType Container) {
        return @('--no-index', '--find-links', $Wheelhouse)
    }
    return @('--prefer-binary')
}

function Invoke-PipInstall {
    # pip install; arguments are package names or '-r', <requirements file>.
    param(
        [Parameter(Mandatory)] [string] $Python,
        [Parameter(Mandatory)] [string[]] $Packages
    )
    $pipInstall = @(
        '-m', 'pip', 'install', '--disable-pip-version-check', '--no-input',
        '--no-warn-script-location', '--progress-bar', 'off'
    )
    Invoke-Native -FilePath $Python -ArgumentList ($pipInstall + @(Get-PackageSource) + $Packages)
}
{% if role.web %}

function Unlock-IisSection {
    # Lets the site's web.config set this configuration section.
    param([Parameter(Mandatory)] [string] $Section)
    Invoke-Native -FilePath $AppCmd -ArgumentList 'unlock', 'config', "/section:$Section"
}

function Grant-IisAccess {
    # Gives the site's processes (IIS_IUSRS) rights on a folder and everything in it:
    # RX = read and run, M = modify.
    param(
        [Parameter(Mandatory)] [string] $Path,
        [Parameter(Mandatory)] [ValidateSet('RX', 'M')] [string] $Rights
    )
    New-Item -ItemType Directory -Force -Path $Path | Out-Null
    Invoke-Native -FilePath 'icacls.exe' -ArgumentList $Path, '/grant', "${IisUsers}:(OI)(CI)$Rights", '/Q'
}

function Set-SiteVariable {
    # Sets one variable of the site's environment in web.config, adding it when missing;
    # an empty value removes it.
    param(
        [Parameter(Mandatory)] [System.Xml.XmlElement] $Parent,
        [Parameter(Mandatory)] [string] $Name,
        [AllowEmptyString()] [string] $Value
    )
    $entry = $Parent.SelectNodes($SiteVariable.Element) |
        Where-Object { $_.GetAttribute($SiteVariable.Key) -eq $Name } | Select-Object -First 1
    if (-not $Value) {
        if ($null -ne $entry) {
            $Parent.RemoveChild($entry) | Out-Null
        }
        return
    }
    if ($null -eq $entry) {
        $entry = $Parent.OwnerDocument.CreateElement($SiteVariable.Element)
        $entry.SetAttribute($SiteVariable.Key, $Name)
        $Parent.AppendChild($entry) | Out-Null
    }
    $entry.SetAttribute('value', $Value)
}

function Copy-RoleVariables {
    # Mirrors the role's environment into web.config (values are never logged).
    param([Parameter(Mandatory)] [System.Xml.XmlElement] $Parent)
    if (-not $env:DEPLOYMENT_ID) {
        Write-Log 'DEPLOYMENT_ID is not set, so Azure did not start this script: the site keeps its settings.'
        return
    }
    foreach ($name in $RoleVariables) {
        Set-SiteVariable -Parent $Parent -Name $name -Value ([Environment]::GetEnvironmentVariable($name))
    }
    Write-Log "Copied to web.config: $($RoleVariables -join ', ')"
}

function Read-XmlDocument {
    param([Parameter(Mandatory)] [string] $Path)
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
        throw "there is no $Path"
    }
    $document = New-Object System.Xml.XmlDocument
    $document.Load($Path)
    # The comma keeps PowerShell from unrolling the document into its child nodes.
    return , $document
}

function Save-XmlDocument {
    # Writes an XML document indented, as UTF-8 without a byte order mark.
    param(
        [Parameter(Mandatory)] [System.Xml.XmlDocument] $Document,
        [Parameter(Mandatory)] [string] $Path
    )
    $settings = New-Object System.Xml.XmlWriterSettings
    $settings.Indent = $true
    $settings.Encoding = New-Object System.Text.UTF8Encoding $false
    $writer = [System.Xml.XmlWriter]::Create($Path, $settings)
    try {
        $Document.Save($writer)
    } finally {
        $writer.Dispose()
    }
}

function Get-RoleRoot {
    # The folder above approot and sitesroot: %RoleRoot% on the VM, where Azure sets it to a
    # drive without a backslash ("E:", which alone would mean the current folder on E).
    $root = $env:RoleRoot
    if (-not $root) {
        $root = Split-Path -Parent $AppRoot
    }
    if (-not $root.EndsWith('\')) {
        $root += '\'
    }
    return $root
}

function Find-SiteRoot {
    # The site's folder as the fabric records it in the role model, %RoleRoot%\RoleModel.xml:
    # <Sites><Site name="Web" physicalDirectory="sitesroot\<n>">, n being the site's place
    # among the role's sites, relative to %RoleRoot% (or absolute). Without the model, or
    # without the site in it, the first site's folder.
    $roleRoot = Get-RoleRoot
    $roleModel = Join-Path $roleRoot 'RoleModel.xml'
    $firstSite = Join-Path $roleRoot 'sitesroot\0'
    if (-not (Test-Path -LiteralPath $roleModel -PathType Leaf)) {
        Write-Log "There is no $roleModel; the site should be in the first site's folder, $firstSite"
        return $firstSite
    }
    $document = Read-XmlDocument -Path $roleModel
    $namespaces = New-Object System.Xml.XmlNamespaceManager $document.NameTable
    $namespaces.AddNamespace('sd', $RoleModelNamespace)
    $site = $document.SelectSingleNode("/sd:RoleModel/sd:Sites/sd:Site[@name='$SiteName']", $namespaces)
    if ($null -eq $site -or -not $site.GetAttribute('physicalDirectory')) {
        Write-Log "$roleModel gives no folder for a site named $SiteName; the site should be in the first site's folder, $firstSite"
        return $firstSite
    }
    $folder = $site.GetAttribute('physicalDirectory')
    if (-not [IO.Path]::IsPathRooted($folder)) {
        $folder = Join-Path $roleRoot $folder
    }
    Write-Log "The role model puts the site $SiteName in $folder"
    return $folder
}
{% endif %}

try {
    Limit-LogSize -Path $LogFile
    Write-Log "Configuring role {{ role.name }}, instance $env:ROLE_INSTANCE_ID, from $AppRoot"
    Enable-Tls12
    $python = Invoke-Step 'Find or install Python' { Install-Python }
    Invoke-Step 'Install pip' { Install-Pip -Python $python }
    Invoke-Step 'Install requirements.txt' { Invoke-PipInstall -Python $python -Packages '-r', $Requirements }
{% if role.web %}
    Install-WebServer -Python $python
    Invoke-Step 'Give IIS access to Python and the site logs' {
        Grant-IisAccess -Path (Split-Path -Parent $python) -Rights RX
        Grant-IisAccess -Path $SiteLogFolder -Rights M
    }
    $siteRoot = Invoke-Step 'Find the site' { Find-SiteRoot }
    Invoke-Step 'Update web.config' { Update-WebConfig -Python $python -SiteRoot $siteRoot }
{% endif %}
    Write-Log 'Done.'
    Complete-Run -ExitCode 0
} catch {
    Write-Log "FAILED: $($_.Exception.Message)" -Severity 3
    Complete-Run -ExitCode 1
}
