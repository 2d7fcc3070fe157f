// The existing registry's Event Grid system topic (a registry has at most one), deployed in the registry's
// resource group. Its system-assigned identity writes dead-lettered events.
param registryName string
param topicName string
param tags object

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' existing = {
  name: registryName
}

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: topicName
  location: registry.location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: registry.id
    topicType: 'Microsoft.ContainerRegistry.Registries'
  }
}

output name string = topic.name
output principalId string = topic.identity.principalId
