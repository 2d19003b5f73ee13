# How IIS runs this site: HttpPlatformHandler starts {{ role.app_server }} and hands it every request.
# ConfigureCloudService.ps1 dot-sources this file and calls Install-WebServer, then
# Update-WebConfig once it knows where the site is.

$HttpPlatformHandlerUrl = 'https://go.microsoft.com/fwlink/?LinkId=690721'
# How web.config holds a variable of the site's environment:
# <environmentVariable name="..." value="..."/> under system.webServer/httpPlatform/environmentVariables.
$SiteVariable = @{ Element = 'environmentVariable'; Key = 'name' }

function Install-HttpPlatformHandler {
    # The IIS module that starts {{ role.app_server }} and forwards requests to it.
    $module = Join-Path $InetSrv 'httpPlatformHandler.dll'
    if (Test-Path -LiteralPath $module) {
        Write-Log "$module is there."
        return
    }
    $msi = Join-Path $env:TEMP 'httpPlatformHandler_amd64.msi'
    $msiLog = Join-Path $LogFolder 'HttpPlatformHandler-install.log'
    Save-Download -Uri $HttpPlatformHandlerUrl -OutFile $msi
    Write-Log "Installing $msi (installer log: $msiLog)"
    $installer = Start-Process -FilePath 'msiexec.exe' -Wait -PassThru `
        -ArgumentList "/i `"$msi`" /quiet /norestart /l*v `"$msiLog`""
    # 3010: installed, and Windows asks for a restart; IIS loads the module when it starts the site.
    if ($installer.ExitCode -ne 0 -and $installer.ExitCode -ne 3010) {
        throw "msiexec exited with code $($installer.ExitCode); see $msiLog"
    }
    if (-not (Test-Path -LiteralPath $module)) {
        throw "the installer finished but $module is missing; see $msiLog"
    }
}

function Install-WebServer {
    # {{ role.app_server }} into the role's Python, HttpPlatformHandler into IIS, and the IIS sections
    # that the site's web.config sets unlocked.
    param([Parameter(Mandatory)] [string] $Python)
    Invoke-Step 'Install {{ role.app_server }}' { Invoke-PipInstall -Python $Python -Packages '{{ role.app_server }}' }
    Invoke-Step 'Install HttpPlatformHandler' { Install-HttpPlatformHandler }
    Invoke-Step 'Let web.config configure handlers and httpPlatform' {
        Unlock-IisSection -Section 'system.webServer/handlers'
        Unlock-IisSection -Section 'system.webServer/httpPlatform'
    }
}

function Update-WebConfig {
    # Gives the site's web.config the absolute paths and the role's settings. Every value is
    # set, never appended, so the file comes out the same however often this runs.
    param(
        [Parameter(Mandatory)] [string] $Python,
        [Parameter(Mandatory)] [string] $SiteRoot
    )
    $webConfig = Join-Path $SiteRoot 'web.config'
    $document = Read-XmlDocument -Path $webConfig
    $httpPlatform = $document.SelectSingleNode('/configuration/system.webServer/httpPlatform')
    $variables = $document.SelectSingleNode('/configuration/system.webServer/httpPlatform/environmentVariables')
    if ($null -eq $variables) {
        throw "$webConfig has no system.webServer/httpPlatform/environmentVariables element"
    }
    $httpPlatform.SetAttribute('processPath', $Python)
    $httpPlatform.SetAttribute('stdoutLogFile', (Join-Path $SiteLogFolder 'python-stdout'))
    Set-SiteVariable -Parent $variables -Name 'PYTHONPATH' -Value $SiteRoot
    Copy-RoleVariables -Parent $variables
    Save-XmlDocument -Document $document -Path $webConfig
    Write-Log "Updated $webConfig"
}
