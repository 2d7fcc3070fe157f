// Key Vault in RBAC mode for Greenlight's secrets. The app never holds them in plain settings: its app
// settings are Key Vault references the platform resolves with the app's identity.
param name string
param location string
param tags object
param principalId string
@secure()
param approvalSigningKey string
param approvalSigningKeySecretName string
@secure()
param redisUrl string
param redisUrlSecretName string

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

resource signingKey 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = {
  parent: vault
  name: approvalSigningKeySecretName
  properties: {
    value: approvalSigningKey
    contentType: 'text/plain'
  }
}

// A Redis brought by the operator; the Azure Managed Redis module writes this secret itself.
resource redisUrlSecret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = if (!empty(redisUrl)) {
  parent: vault
  name: redisUrlSecretName
  properties: {
    value: redisUrl
    contentType: 'text/plain'
  }
}

// Why: the platform resolves the app's Key Vault references (signing key, Redis URLs) with this identity.
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault Secrets User
resource secretsReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
