// Delivers the registry's ImagePushed events for the chosen repositories to Greenlight's Event Grid
// function. A failed delivery is retried for a day, then dead-lettered: no push is lost.
param topicName string
@description('The function\'s resource id: <function app id>/functions/<registered function name>.')
param functionResourceId string
param repositoryPrefixes array
param deadLetterStorageAccountId string
param deadLetterContainerName string

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: topicName
}

resource imagePushed 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: 'greenlight-image-pushed'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: functionResourceId
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: ['Microsoft.ContainerRegistry.ImagePushed']
      // Up to 25 prefixes; an empty list delivers every repository's pushes.
      advancedFilters: empty(repositoryPrefixes) ? [] : [
        {
          operatorType: 'StringBeginsWith'
          key: 'data.target.repository'
          values: repositoryPrefixes
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output name string = imagePushed.name
