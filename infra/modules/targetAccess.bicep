// Deployed once per resource group named in targetResourceGroups: the right to change the Container Apps
// in that group and nothing else.
param principalId string

// Why: a rollout creates the green revision (a template PUT), sets traffic weights and labels, switches
// the revision mode and deactivates revisions; this role covers Microsoft.App/containerApps/* and joining
// the apps' managed environment, and nothing outside Container Apps.
var containerAppsContributor = '358470bc-b998-42bd-ab17-a7e34c199c0f' // Container Apps Contributor
resource containerAppsAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, containerAppsContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', containerAppsContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
