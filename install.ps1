# Installs the crlogin release binary for Windows, verified against the release's SHA256SUMS
# (the PowerShell twin of install.sh):
#   irm https://github.com/crlogin/crlogin/releases/latest/download/install.ps1 | iex
#   & .\install.ps1 -Version 0.1.0 -Dir "$env:LOCALAPPDATA\Programs\crlogin"
#   & .\install.ps1 -BaseUrl https://mirror.example/crlogin/v0.1.0/   (a mirror: that release's files)
# Options: -Version V (default: the latest release), -Dir D (default
# %LOCALAPPDATA%\Programs\crlogin), -BaseUrl URL (the directory with SHA256SUMS and the asset;
# default the GitHub release of V). Windows PowerShell 5.1 or PowerShell 7, x64 only (an ARM64
# Windows runs it under emulation). Nothing unverified is run or left behind: the binary is moved
# into D only after its SHA-256 matched and it ran.
# Keep this file ASCII: Windows PowerShell 5.1 reads a script without a BOM in the ANSI code page.
[CmdletBinding()]
param(
    [string]$Version = '',
    [string]$Dir = '',
    [string]$BaseUrl = ''
)
# A child scope: run by `irm | iex`, the settings below stay out of the caller's session.
& {
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$repository = 'https://github.com/crlogin/crlogin'
$asset = 'crlogin-x86_64-pc-windows-msvc.exe'

function Fail([string]$message) {
    $text = "crlogin install: error: $message"
    # Run by `irm | iex` there is no script file, and `exit` would close the user's PowerShell.
    if (-not $PSCommandPath) { throw $text }
    [Console]::Error.WriteLine($text)
    exit 1
}

$Version = $Version -replace '^v', ''
if ($Version -and $Version -notmatch '^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?$') {
    Fail "-Version must be X.Y.Z, not $Version"
}
if (-not $BaseUrl) {
    if ($Version) { $BaseUrl = "$repository/releases/download/v$Version/" }
    else { $BaseUrl = "$repository/releases/latest/download/" }
}
# The URL's host, parsed, not matched as text (http://127.0.0.1:1@evil/ is host evil): https, or
# http to this machine; no user:password@.
$uri = $null
if (-not [Uri]::TryCreate($BaseUrl, [UriKind]::Absolute, [ref]$uri) -or $uri.UserInfo -or
    -not ($uri.Scheme -eq 'https' -or ($uri.Scheme -eq 'http' -and $uri.IsLoopback))) {
    Fail "-BaseUrl must be an https URL (or http on loopback) with a plain host and no user:password@, not $BaseUrl"
}
$BaseUrl = $BaseUrl.TrimEnd('/')
if (-not $Dir) { $Dir = Join-Path $env:LOCALAPPDATA 'Programs\crlogin' }

$arch = $env:PROCESSOR_ARCHITEW6432
if (-not $arch) { $arch = $env:PROCESSOR_ARCHITECTURE }
if ($arch -notin @('AMD64', 'ARM64')) {
    Fail "no crlogin release binary for Windows $arch; there is: Windows x64 (or build it: cargo install crlogin --locked)"
}

# TLS 1.2 for Windows PowerShell 5.1, whose default may be older (PowerShell 7 ignores it).
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
$ProgressPreference = 'SilentlyContinue'   # Invoke-WebRequest is far slower with its progress bar
# Downloads go through the proxy the system (5.1) or HTTPS_PROXY (7) names, but never for a
# loopback -BaseUrl: 5.1 bypasses the proxy for loopback by itself, 7 needs -NoProxy.
$web = @{ UseBasicParsing = $true }
if ($BaseUrl -match '^http://' -and $PSVersionTable.PSVersion.Major -ge 6) { $web['NoProxy'] = $true }
$proxyHint = 'behind a proxy set HTTPS_PROXY (PowerShell 7) or the system proxy (Windows PowerShell 5.1)'

$tmp = Join-Path ([IO.Path]::GetTempPath()) ("crlogin-install-" + [Guid]::NewGuid().ToString('N'))
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
    try {
        Invoke-WebRequest @web -Uri "$BaseUrl/SHA256SUMS" -OutFile "$tmp\SHA256SUMS"
    } catch {
        Fail "cannot download $BaseUrl/SHA256SUMS ($($_.Exception.Message)): check -Version and -BaseUrl; $proxyHint"
    }
    $want = ''
    foreach ($line in Get-Content -LiteralPath "$tmp\SHA256SUMS") {
        $fields = $line -split '\s+', 2
        if ($fields.Count -eq 2 -and ($fields[1] -eq $asset -or $fields[1] -eq "*$asset")) { $want = $fields[0].ToLowerInvariant() }
    }
    if ($want -notmatch '^[0-9a-f]{64}$') { Fail "$BaseUrl/SHA256SUMS has no SHA-256 for $asset" }

    $download = Join-Path $tmp $asset
    try {
        Invoke-WebRequest @web -Uri "$BaseUrl/$asset" -OutFile $download
    } catch {
        Fail "cannot download $BaseUrl/$asset ($($_.Exception.Message)): check -Version and -BaseUrl; $proxyHint"
    }
    $got = (Get-FileHash -Algorithm SHA256 -LiteralPath $download).Hash.ToLowerInvariant()
    if ($got -ne $want) {
        Fail "$asset from $BaseUrl does not match its SHA-256 in SHA256SUMS (expected $want, got $got): not installed"
    }

    # `crlogin X.Y.Z (commit date, target)`. A native program's failure to start is an exception,
    # and so (5.1, with 'Stop') is any line it writes to the redirected stderr.
    $reported = ''
    $ran = $false
    try {
        $reported = (& $download --version 2>$null | Out-String).Trim()
        $ran = ($LASTEXITCODE -eq 0)
    } catch {
        $ran = $false
    }
    $reportedVersion = ''
    if ($ran -and $reported -match '^crlogin (\S+)( \(.*\))?$') { $reportedVersion = $Matches[1] }
    if (-not $reportedVersion) { Fail "the downloaded $asset does not run on this machine" }
    if ($Version -and $reportedVersion -ne $Version) { Fail "the download is $reported, not crlogin ${Version}: not installed" }

    $staged = $null
    try {
        New-Item -ItemType Directory -Force -Path $Dir | Out-Null
        # Same volume as the destination, then one rename: no one runs half a file.
        $staged = Join-Path $Dir ".crlogin.$PID.exe"
        Copy-Item -LiteralPath $download -Destination $staged -Force
        Move-Item -LiteralPath $staged -Destination (Join-Path $Dir 'crlogin.exe') -Force
    } catch {
        if ($staged) { Remove-Item -LiteralPath $staged -Force -ErrorAction SilentlyContinue }
        Fail "cannot write $Dir\crlogin.exe ($($_.Exception.Message)): pass -Dir D, or close the crlogin that is running from it"
    }
    Write-Output "installed $reported to $Dir\crlogin.exe"
    $onPath = ($env:PATH -split ';') | Where-Object { $_.TrimEnd('\') -ieq $Dir.TrimEnd('\') }
    if (-not $onPath) {
        $add = '[Environment]::SetEnvironmentVariable(''PATH'', ''' + $Dir + ';'' + [Environment]::GetEnvironmentVariable(''PATH'', ''User''), ''User'')'
        [Console]::Error.WriteLine("note: $Dir is not on PATH; for new shells add it with: $add")
    }
} finally {
    Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue
}
}
