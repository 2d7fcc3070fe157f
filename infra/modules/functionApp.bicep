// The Function App on Flex Consumption. It runs the built app (package.json "main"), reaches storage,
// Application Insights, Key Vault and ARM with the user-assigned identity, and holds no secret itself.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param appInsightsConnectionString string
param nodeVersion string
param maximumInstanceCount int
param taskHubName string
param keyVaultUri string
param approvalSigningKeySecretName string
param redisUrlSecretName string
@description('App settings named by flag policies; each reads the secret of the same name, lower-case with - for _.')
param flagRedisSettings array
@description('App settings named by notification channels (urlSetting, secretSetting); each reads the secret of the same name, lower-case with - for _.')
param notificationSettings array
param policies string
param policiesPath string
param publicBaseUrl string
@description('Turn on App Service authentication with Microsoft Entra ID for the pages (dashboard, approval).')
param enableAppServiceAuth bool
@description('Client id of the Entra ID app registration people sign in through (with enableAppServiceAuth).')
param authClientId string
@description('Tenant of that registration.')
param authTenantId string

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-11-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: 2048
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }
}

// Deployments authenticate with Entra ID (azd does); publishing user names and passwords stay off.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

// Identity-based connections: the host, the Durable Functions task hub (host.json names AzureWebJobsStorage
// and %GREENLIGHT_TASK_HUB%), telemetry and the Azure SDK all use the user-assigned identity.
var hostSettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  AZURE_CLIENT_ID: identityClientId
  GREENLIGHT_TASK_HUB: taskHubName
}

// Secrets are Key Vault references, resolved by the platform with keyVaultReferenceIdentity.
var secretSettings = {
  GREENLIGHT_APPROVAL_SIGNING_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${approvalSigningKeySecretName})'
  GREENLIGHT_REDIS_URL: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${redisUrlSecretName})'
}

var flagSettings = toObject(flagRedisSettings, s => s, s => '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${replace(toLower(s), '_', '-')})')
// Webhook URLs and signing secrets of the policies' notification channels: a Teams or Slack URL is itself a secret.
var notificationChannelSettings = toObject(notificationSettings, s => s, s => '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${replace(toLower(s), '_', '-')})')

// Set only when given: the app rejects an empty value, and a missing one has a default or a fallback.
var policySettings = empty(policies) ? {} : { GREENLIGHT_POLICIES: policies }
var policyPathSettings = empty(policiesPath) ? {} : { GREENLIGHT_POLICIES_PATH: policiesPath }
var publicUrlSettings = empty(publicBaseUrl) ? {} : { GREENLIGHT_PUBLIC_BASE_URL: publicBaseUrl }
// Only behind App Service authentication, which strips x-ms-client-principal-* headers callers send and
// injects the signed-in person's: then the approver and the dashboard's viewer are that person.
var appServiceAuthSettings = enableAppServiceAuth ? { GREENLIGHT_TRUST_CLIENT_PRINCIPAL: 'true' } : {}

resource appSettings 'Microsoft.Web/sites/config@2024-11-01' = {
  parent: site
  name: 'appsettings'
  properties: union(hostSettings, secretSettings, flagSettings, notificationChannelSettings, policySettings, policyPathSettings, publicUrlSettings, appServiceAuthSettings)
}

// Routes reached with a function or system key (the CLI, CI, Event Grid, the Durable Functions API), never
// with a browser session: App Service authentication leaves them to the Functions host's key check, as a
// redirect to sign-in would break every one of them. Everything else (the dashboard, the approval pages)
// sends a person who is not signed in to Entra ID first, then back to the page they asked for.
var keyProtectedPaths = [
  '/api/rollouts'
  '/api/rollouts/*'
  '/api/releases'
  '/api/releases/*'
  '/api/audit'
  '/api/emergency-stop'
  '/api/apps/*'
  '/runtime/webhooks/*'
]

resource appServiceAuth 'Microsoft.Web/sites/config@2024-11-01' = if (enableAppServiceAuth) {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
      excludedPaths: keyProtectedPaths
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        // No client secret: sign-in takes an ID token (the registration must allow ID tokens), so no
        // secret is created, stored or rotated for it.
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${authTenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            authClientId
            'api://${authClientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
  // The app settings first: the trusted-principal setting must be in place when sign-in starts.
  dependsOn: [appSettings]
}

output name string = site.name
output id string = site.id
output url string = 'https://${site.properties.defaultHostName}'
