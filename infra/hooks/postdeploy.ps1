# Windows twin of postdeploy.sh: adds the ACR event subscription once the imagePushed function is deployed.
$ErrorActionPreference = 'Stop'

if (-not $env:GREENLIGHT_REGISTRY_NAME -or $env:GREENLIGHT_SUBSCRIBE_TO_REGISTRY -eq 'true') {
  exit 0
}

azd env set GREENLIGHT_SUBSCRIBE_TO_REGISTRY true
foreach ($attempt in 1..5) {
  azd provision --no-prompt
  if ($LASTEXITCODE -eq 0) { exit 0 }
  Write-Warning "ACR event subscription not created yet (attempt $attempt of 5); retrying in 30 s"
  Start-Sleep -Seconds 30
}
azd env set GREENLIGHT_SUBSCRIBE_TO_REGISTRY false
Write-Error ("Could not subscribe to $($env:GREENLIGHT_REGISTRY_NAME): check that the app starts, then run: " +
  'azd env set GREENLIGHT_SUBSCRIBE_TO_REGISTRY true; azd provision')
exit 1
