# How IIS runs this site: FastCGI, with wfastcgi serving the WSGI application.
# ConfigureCloudService.ps1 dot-sources this file and calls Install-WebServer, then
# Update-WebConfig once it knows where the site is.

# The FastCGI application's settings that let requests finish before IIS recycles or stops
# python.exe: IIS first signals wfastcgi, which finishes the request in hand and exits, and
# kills the process only signalBeforeTerminateSeconds later. A request may take two minutes
# (with or without output), instead of FastCGI's default 90 seconds, of which at most 30
# without output.
$FastCgiSettings = [ordered]@{
    signalBeforeTerminateSeconds = '30'
    requestTimeout = '120'
    activityTimeout = '120'
}
# How web.config holds a variable of the site's environment: <add key="..." value="..."/>
# under appSettings, which wfastcgi puts into os.environ.
$SiteVariable = @{ Element = 'add'; Key = 'key' }

function Get-NativeOutput {
    # Runs a program and returns what it writes to stdout; fails unless it exits with 0.
    param(
        [Parameter(Mandatory)] [string] $FilePath,
        [string[]] $ArgumentList = @()
    )
    Assert-Program -FilePath $FilePath
    $output = & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) {
        throw "$(Split-Path -Leaf $FilePath) $($ArgumentList -join ' ') exited with code $LASTEXITCODE"
    }
    return ($output -join [Environment]::NewLine).Trim()
}

function Enable-FastCgi {
    # IIS's FastCGI module comes with the CGI feature of the Web Server role.
    if (Test-Path -LiteralPath (Join-Path $InetSrv 'iisfcgi.dll')) {
        Write-Log 'IIS FastCGI is enabled.'
        return
    }
    # 3010: enabled, and Windows asks for a restart; IIS loads the module when it starts the site.
    Invoke-Native -FilePath 'dism.exe' -SuccessCodes 0, 3010 -ArgumentList `
        '/Online', '/Enable-Feature', '/FeatureName:IIS-CGI', '/All', '/Quiet', '/NoRestart'
}

function Get-WfastcgiScript {
    # The path of wfastcgi.py in the role's Python, which IIS passes to python.exe.
    param([Parameter(Mandatory)] [string] $Python)
    $script = Get-NativeOutput -FilePath $Python -ArgumentList '-c', 'import wfastcgi; print(wfastcgi.__file__)'
    # IIS splits the FastCGI command line on spaces.
    if ("$Python$script" -match '\s') {
        throw "FastCGI cannot use paths with spaces: '$Python' and '$script'; set PYTHON to a Python installed in a folder without spaces"
    }
    return $script
}

function Register-FastCgiApplication {
    # Adds python.exe + wfastcgi.py to IIS's FastCGI applications, or brings the settings of
    # the one already there up to date.
    param(
        [Parameter(Mandatory)] [string] $Python,
        [Parameter(Mandatory)] [string] $Script
    )
    $application = "[fullPath='$Python',arguments='$Script']"
    [xml] $section = Get-NativeOutput -FilePath $AppCmd -ArgumentList 'list', 'config', '/section:system.webServer/fastCGI'
    $registered = $section.SelectNodes('//application') |
        Where-Object { $_.GetAttribute('fullPath') -eq $Python -and $_.GetAttribute('arguments') -eq $Script } |
        Select-Object -First 1
    if ($null -eq $registered) {
        $settings = ($FastCgiSettings.GetEnumerator() | ForEach-Object { ",$($_.Key)='$($_.Value)'" }) -join ''
        Invoke-Native -FilePath $AppCmd -ArgumentList 'set', 'config', '/section:system.webServer/fastCGI', `
            "/+[fullPath='$Python',arguments='$Script'$settings]"
        return
    }
    foreach ($setting in $FastCgiSettings.GetEnumerator()) {
        # appcmd lists only the attributes that differ from IIS's defaults.
        if ($registered.GetAttribute($setting.Key) -ne $setting.Value) {
            Invoke-Native -FilePath $AppCmd -ArgumentList 'set', 'config', '/section:system.webServer/fastCGI', `
                "/$application.$($setting.Key):$($setting.Value)"
        }
    }
    Write-Log "The FastCGI application $Python|$Script is registered."
}

function Install-WebServer {
    # wfastcgi into the role's Python, FastCGI into IIS with python.exe + wfastcgi.py as
    # its application, and the IIS section that the site's web.config sets unlocked.
    param([Parameter(Mandatory)] [string] $Python)
    Invoke-Step 'Install wfastcgi' { Invoke-PipInstall -Python $Python -Packages 'wfastcgi' }
    $wfastcgi = Invoke-Step 'Find wfastcgi.py' { Get-WfastcgiScript -Python $Python }
    Invoke-Step 'Enable IIS FastCGI' { Enable-FastCgi }
    Invoke-Step 'Register the FastCGI application' { Register-FastCgiApplication -Python $Python -Script $wfastcgi }
    Invoke-Step 'Let web.config configure handlers' { Unlock-IisSection -Section 'system.webServer/handlers' }
}

function Update-WebConfig {
    # Gives the site's web.config the absolute paths and the role's settings (wfastcgi puts
    # appSettings into os.environ). Every value is set, never appended, so the file comes out
    # the same however often this runs.
    param(
        [Parameter(Mandatory)] [string] $Python,
        [Parameter(Mandatory)] [string] $SiteRoot
    )
    $webConfig = Join-Path $SiteRoot 'web.config'
    $document = Read-XmlDocument -Path $webConfig
    $handler = $document.SelectSingleNode("/configuration/system.webServer/handlers/add[@modules='FastCgiModule']")
    $appSettings = $document.SelectSingleNode('/configuration/appSettings')
    if ($null -eq $handler -or $null -eq $appSettings) {
        throw "$webConfig needs appSettings and a handler with modules='FastCgiModule'"
    }
    $handler.SetAttribute('scriptProcessor', "$Python|$(Get-WfastcgiScript -Python $Python)")
    Set-SiteVariable -Parent $appSettings -Name 'PYTHONPATH' -Value $SiteRoot
    Set-SiteVariable -Parent $appSettings -Name 'WSGI_LOG' -Value (Join-Path $SiteLogFolder 'wfastcgi.log')
    Copy-RoleVariables -Parent $appSettings
    Save-XmlDocument -Document $document -Path $webConfig
    Write-Log "Updated $webConfig"
}
