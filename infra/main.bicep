// Greenlight on Azure: a Flex Consumption Function App running under one user-assigned identity, its
// storage, monitoring and Key Vault, an optional Azure Managed Redis, least-privilege access to the target
// Container Apps, and ACR ImagePushed events delivered by Event Grid. Parameters: see infra/README.md.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names and tags every resource.')
param environmentName string

@minLength(1)
@description('Region of every Greenlight resource (Flex Consumption must be offered there).')
@metadata({ azd: { type: 'location' } })
param location string

@description('Resource group to create for Greenlight; rg-<environmentName> when empty.')
param resourceGroupName string = ''

@minLength(3)
@maxLength(45)
@description('Durable Functions task hub: letters and digits, starting with a letter.')
param taskHubName string = 'greenlight'

@allowed(['20', '22'])
@description('Node.js major version of the Functions runtime.')
param nodeVersion string = '20'

@minValue(40)
@maxValue(1000)
@description('Most instances the Flex Consumption app scales out to.')
param maximumInstanceCount int = 40

@description('Rollout policies, base64 of their YAML or JSON (becomes GREENLIGHT_POLICIES).')
param policiesBase64 string = ''

@description('Policy file or folder the running app can read (becomes GREENLIGHT_POLICIES_PATH).')
param policiesPath string = ''

@secure()
@minLength(32)
@description('HMAC key of approval links; azd generates one per environment and keeps it.')
@metadata({ azd: { type: 'generate', config: { length: 64, noSpecial: true } } })
param approvalSigningKey string

@description('Create an Azure Managed Redis for Greenlight; false to bring your own with redisUrl.')
param deployRedis bool = true

@description('Azure Managed Redis SKU when deployRedis is true.')
param redisSkuName string = 'Balanced_B0'

@secure()
@description('rediss:// URL (with its password) of an existing Redis, used when deployRedis is false.')
param redisUrl string = ''

@description('Comma-separated app settings named by flag policies (bindings.*.urlSetting), read from Key Vault.')
param flagRedisSettings string = ''

@description('Comma-separated app settings the policies\' notification channels name (urlSetting, secretSetting), e.g. GREENLIGHT_TEAMS_URL; each is a Key Vault reference to the secret of the same name, lower-case with - for _.')
param notificationSettings string = ''

@description('Existing Azure Container Registry whose pushes start rollouts; empty for HTTP triggers only.')
param registryName string = ''

@description('Resource group of that registry.')
param registryResourceGroupName string = ''

@description('Comma-separated repository prefixes to deliver (data.target.repository); empty for all.')
param repositoryPrefixes string = ''

@description('Name of the registry\'s Event Grid system topic; give the existing one if the registry has one.')
param registrySystemTopicName string = ''

@description('Create the ACR event subscription; it needs the deployed function, so the postdeploy hook sets it.')
param subscribeToRegistry bool = false

@description('Comma-separated resource groups of this subscription holding the Container Apps to roll out.')
param targetResourceGroups string = ''

@description('Comma-separated further resource groups whose metrics and Log Analytics workspaces gates query.')
param monitoringResourceGroups string = ''

@description('Base URL of approval links when it is not the app\'s own host name (custom domain, front door).')
param publicBaseUrl string = ''

@description('Sign people in with Microsoft Entra ID (App Service authentication) before the dashboard and approval pages; key-protected API routes and webhooks are excluded.')
param enableAppServiceAuth bool = false

@description('With enableAppServiceAuth: client id of the Entra ID app registration people sign in through.')
param authClientId string = ''

@description('With enableAppServiceAuth: tenant of that registration (default: the deployment\'s tenant).')
param authTenantId string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var targetGroups = filter(map(split(targetResourceGroups, ','), g => trim(g)), g => !empty(g))
var readerGroups = union(targetGroups, filter(map(split(monitoringResourceGroups, ','), g => trim(g)), g => !empty(g)))
var prefixes = filter(map(split(repositoryPrefixes, ','), p => trim(p)), p => !empty(p))
var flagSettingNames = filter(map(split(flagRedisSettings, ','), s => trim(s)), s => !empty(s))
var notificationSettingNames = filter(map(split(notificationSettings, ','), s => trim(s)), s => !empty(s))
var hasRegistry = !empty(registryName)
var registryGroup = empty(registryResourceGroupName) ? rg.name : registryResourceGroupName
// Registered in src/functions/imagePushed.ts; test/infra checks the app still registers it.
var imagePushedFunctionName = 'imagePushed'
var deadLetterContainerName = 'imagepushed-deadletter'
var approvalSigningKeySecretName = 'greenlight-approval-signing-key'
var redisUrlSecretName = 'greenlight-redis-url'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-greenlight-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    workspaceName: 'log-${resourceToken}'
    appInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'stgl${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    deploymentContainerName: 'app-package'
    deadLetterContainerName: deadLetterContainerName
  }
}

module keyVault 'modules/keyVault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: 'kv-gl-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    approvalSigningKey: approvalSigningKey
    approvalSigningKeySecretName: approvalSigningKeySecretName
    redisUrl: deployRedis ? '' : redisUrl
    redisUrlSecretName: redisUrlSecretName
  }
}

module redis 'modules/redis.bicep' = if (deployRedis) {
  name: 'redis'
  scope: rg
  params: {
    name: 'redis-${resourceToken}'
    location: location
    tags: tags
    skuName: redisSkuName
    keyVaultName: keyVault.outputs.name
    secretName: redisUrlSecretName
  }
}

module app 'modules/functionApp.bicep' = {
  name: 'functionApp'
  scope: rg
  params: {
    name: 'func-greenlight-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    // azd deploys the `greenlight` service of azure.yaml to the site carrying this tag.
    tags: union(tags, { 'azd-service-name': 'greenlight' })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    appInsightsConnectionString: monitoring.outputs.connectionString
    nodeVersion: nodeVersion
    maximumInstanceCount: maximumInstanceCount
    taskHubName: taskHubName
    keyVaultUri: keyVault.outputs.uri
    approvalSigningKeySecretName: approvalSigningKeySecretName
    redisUrlSecretName: redisUrlSecretName
    flagRedisSettings: flagSettingNames
    notificationSettings: notificationSettingNames
    policies: empty(policiesBase64) ? '' : base64ToString(policiesBase64)
    policiesPath: policiesPath
    publicBaseUrl: publicBaseUrl
    enableAppServiceAuth: enableAppServiceAuth
    authClientId: authClientId
    authTenantId: empty(authTenantId) ? tenant().tenantId : authTenantId
  }
  // The Redis URL secret must exist before the platform first resolves its Key Vault reference.
  dependsOn: [redis]
}

// Least privilege: update rights only in the resource groups of the target apps, never the subscription.
module targetAccess 'modules/targetAccess.bicep' = [
  for group in targetGroups: {
    name: 'target-access-${uniqueString(group)}'
    scope: resourceGroup(group)
    params: {
      principalId: identity.outputs.principalId
    }
  }
]

// Gates read metrics and logs where the apps and their workspaces live.
module readerAccess 'modules/readerAccess.bicep' = [
  for group in readerGroups: {
    name: 'reader-access-${uniqueString(group)}'
    scope: resourceGroup(group)
    params: {
      principalId: identity.outputs.principalId
    }
  }
]

module registryTopic 'modules/registryTopic.bicep' = if (hasRegistry) {
  name: 'registry-topic'
  scope: resourceGroup(registryGroup)
  params: {
    registryName: registryName
    topicName: empty(registrySystemTopicName) ? 'evgt-${registryName}' : registrySystemTopicName
    tags: tags
  }
}

module deadLetterAccess 'modules/deadLetterAccess.bicep' = if (hasRegistry) {
  name: 'dead-letter-access'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    containerName: deadLetterContainerName
    principalId: registryTopic.outputs.principalId
  }
}

module registrySubscription 'modules/registrySubscription.bicep' = if (hasRegistry && subscribeToRegistry) {
  name: 'registry-subscription'
  scope: resourceGroup(registryGroup)
  params: {
    topicName: registryTopic.outputs.name
    functionResourceId: '${app.outputs.id}/functions/${imagePushedFunctionName}'
    repositoryPrefixes: prefixes
    deadLetterStorageAccountId: storage.outputs.id
    deadLetterContainerName: deadLetterContainerName
  }
  // Event Grid dead-letters with the topic's identity: its write access must exist first.
  dependsOn: [deadLetterAccess]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = app.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output GREENLIGHT_URL string = app.outputs.url
output GREENLIGHT_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output GREENLIGHT_DEAD_LETTER_CONTAINER string = '${storage.outputs.name}/${deadLetterContainerName}'
