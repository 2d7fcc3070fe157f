// Azure Managed Redis for Greenlight's bookkeeping. Its URL, access key included, goes straight into
// Key Vault and never into an output or an app setting.
param name string
param location string
param tags object
param skuName string
param keyVaultName string
param secretName string

resource cluster 'Microsoft.Cache/redisEnterprise@2025-07-01' = {
  name: name
  location: location
  tags: tags
  sku: { name: skuName }
  properties: {
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.Cache/redisEnterprise/databases@2025-07-01' = {
  parent: cluster
  name: 'default'
  properties: {
    clientProtocol: 'Encrypted'
    port: 10000
    // One shard, plain Redis semantics: Lua scripts and MULTI span keys, and ioredis needs no cluster mode.
    clusteringPolicy: 'NoCluster'
    // Locks, dedup records and spent approval tokens must never be evicted.
    evictionPolicy: 'NoEviction'
    // ioredis authenticates with the access key carried in the URL.
    accessKeysAuthentication: 'Enabled'
  }
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

resource urlSecret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = {
  parent: vault
  name: secretName
  properties: {
    // Percent-encoded: an access key may hold characters that end a URL's user info.
    value: 'rediss://:${uriComponent(database.listKeys().primaryKey)}@${cluster.properties.hostName}:${database.properties.port}'
    contentType: 'text/plain'
  }
}

output name string = cluster.name
